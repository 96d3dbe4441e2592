package draw

import (
	"switchyard/media/av"
	"switchyard/media/color"
)

// Fit returns the largest rectangle with the aspect ratio of a srcW×srcH
// picture centred inside box, with even coordinates.
func Fit(srcW, srcH int, box av.Rect) av.Rect {
	if srcW <= 0 || srcH <= 0 {
		return box
	}
	w, h := box.W, box.W*srcH/srcW
	if h > box.H {
		w, h = box.H*srcW/srcH, box.H
	}
	w &^= 1
	h &^= 1
	return av.Rect{X: (box.X + (box.W-w)/2) &^ 1, Y: (box.Y + (box.H-h)/2) &^ 1, W: w, H: h}
}

// Letterbox paints the parts of box outside inner black.
func Letterbox(f *av.Frame, box, inner av.Rect) {
	if inner == box {
		return
	}
	if inner.Y > box.Y {
		FillRect(f, av.Rect{X: box.X, Y: box.Y, W: box.W, H: inner.Y - box.Y}, color.Black)
	}
	if b := inner.Y + inner.H; b < box.Y+box.H {
		FillRect(f, av.Rect{X: box.X, Y: b, W: box.W, H: box.Y + box.H - b}, color.Black)
	}
	if inner.X > box.X {
		FillRect(f, av.Rect{X: box.X, Y: inner.Y, W: inner.X - box.X, H: inner.H}, color.Black)
	}
	if r := inner.X + inner.W; r < box.X+box.W {
		FillRect(f, av.Rect{X: r, Y: inner.Y, W: box.X + box.W - r, H: inner.H}, color.Black)
	}
}
