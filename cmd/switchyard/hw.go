package main

import (
	"fmt"
	"log/slog"
	"strings"

	"switchyard/media/av"
)

// The GPUs the program encodes and the sources decode on (program.encoder,
// program.decode, program.hw_device): opened at start, before the mixer,
// closed after it.

// hwDevices are the devices the show opened.
type hwDevices struct {
	encode, decode *av.HWDevice
}

func (h *hwDevices) Close() {
	if h == nil {
		return
	}
	if h.decode != h.encode {
		h.decode.Close()
	}
	h.encode.Close()
}

// devicePath is program.hw_device for kind: a render node for vaapi and
// qsv, a GPU index for cuda; one setting serves the kind it fits.
func devicePath(kind, setting string) string {
	isPath := strings.HasPrefix(setting, "/")
	switch {
	case setting == "":
		return ""
	case kind == av.HWCUDA && isPath, kind != av.HWCUDA && !isPath:
		return "" // the kind's default
	}
	return setting
}

// openHW opens what p asks for. A GPU named and not there is an error
// naming it and what to do; decode auto takes the first that opens and
// says in one line what it chose, or that it decodes on the CPU.
func openHW(p ProgramConfig, log *slog.Logger) (*hwDevices, error) {
	h := &hwDevices{}
	if enc := p.Encoder; enc != "" && enc != av.EncoderX264 {
		kind := av.EncoderDevice(enc)
		dev, err := av.OpenHWDevice(kind, devicePath(kind, p.HWDevice))
		if err != nil {
			return nil, &ConfigError{"program.encoder", fmt.Sprintf("%s needs a %s device and none could be opened (%v): "+
				"check the GPU's driver and that this user may open it (group video or render), set program.hw_device, "+
				"or use encoder: x264", enc, deviceName(kind), err)}
		}
		h.encode = dev
		log.Info("the program encodes on the GPU", "encoder", enc, "device", kind)
	}
	switch d := p.Decode; d {
	case "", "cpu":
	case "auto":
		var tried []string
		for _, kind := range []string{av.HWCUDA, av.HWVAAPI, av.HWQSV} {
			dev, err := h.sameOrOpen(kind, devicePath(kind, p.HWDevice))
			if err == nil {
				h.decode = dev
				log.Info("sources decode on the GPU", "device", kind)
				return h, nil
			}
			tried = append(tried, kind+": "+err.Error())
		}
		log.Info("no GPU to decode on (decode: auto): sources decode on the CPU", "tried", strings.Join(tried, "; "))
	default:
		dev, err := h.sameOrOpen(d, devicePath(d, p.HWDevice))
		if err != nil {
			h.Close()
			return nil, &ConfigError{"program.decode", fmt.Sprintf("%s: no %s device could be opened (%v): check the GPU's driver "+
				"and that this user may open it (group video or render), set program.hw_device, or use decode: auto or cpu", d, deviceName(d), err)}
		}
		h.decode = dev
		log.Info("sources decode on the GPU", "device", d)
	}
	return h, nil
}

// sameOrOpen returns the encoder's device when it is of kind, else opens one.
func (h *hwDevices) sameOrOpen(kind, path string) (*av.HWDevice, error) {
	if h.encode != nil && h.encode.Kind == kind {
		return h.encode, nil
	}
	return av.OpenHWDevice(kind, path)
}

func deviceName(kind string) string {
	return map[string]string{av.HWCUDA: "NVIDIA (CUDA)", av.HWVAAPI: "VAAPI (Intel or AMD)", av.HWQSV: "Intel Quick Sync"}[kind]
}
