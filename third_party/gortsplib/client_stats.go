package gortsplib

// ClientStats are client statistics
type ClientStats struct {
	Conn    ConnStats
	Session SessionStats
}
