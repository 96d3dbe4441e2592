// Package rtpsender contains a utility to send RTP packets.
package rtpsender

import (
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/bluenviron/gortsplib/v5/pkg/ntp"
)

// Sender is a utility to send RTP packets.
// It is in charge of:
// - counting sent packets
// - generating RTCP sender reports.
// - parsing incoming RTCP receiver reports.
type Sender struct {
	ClockRate       int
	Period          time.Duration
	TimeNow         func() time.Time
	WritePacketRTCP func(rtcp.Packet)

	mutex sync.RWMutex

	// data from RTP packets
	firstRTPPacketSent bool
	lastRTP            uint32
	lastNTP            time.Time
	lastSystem         time.Time
	localSSRC          uint32
	lastSequenceNumber uint16
	sent               uint64
	reportedLost       uint64
	octetCount         uint32

	terminate   chan struct{}
	done        chan struct{}
	firstPacket chan struct{}
}

// Initialize initializes a Sender.
func (rs *Sender) Initialize() {
	if rs.TimeNow == nil {
		rs.TimeNow = time.Now
	}

	rs.terminate = make(chan struct{})
	rs.done = make(chan struct{})
	rs.firstPacket = make(chan struct{})

	go rs.run()
}

// Close closes the Sender.
func (rs *Sender) Close() {
	close(rs.terminate)
	<-rs.done
}

func (rs *Sender) run() {
	defer close(rs.done)

	if rs.ClockRate == 0 {
		return
	}

	select {
	case <-rs.firstPacket:
		report := rs.report()
		rs.WritePacketRTCP(report)

	case <-rs.terminate:
		return
	}

	t := time.NewTicker(rs.Period)
	defer t.Stop()

	for {
		select {
		case <-t.C:
			report := rs.report()
			rs.WritePacketRTCP(report)

		case <-rs.terminate:
			return
		}
	}
}

func (rs *Sender) report() rtcp.Packet {
	rs.mutex.RLock()
	defer rs.mutex.RUnlock()

	systemDiff := rs.TimeNow().Sub(rs.lastSystem)
	ntpTime := rs.lastNTP.Add(systemDiff)
	rtpTime := rs.lastRTP + uint32(systemDiff.Seconds()*float64(rs.ClockRate))

	return &rtcp.SenderReport{
		SSRC:        rs.localSSRC,
		NTPTime:     ntp.Encode(ntpTime),
		RTPTime:     rtpTime,
		PacketCount: uint32(rs.sent),
		OctetCount:  rs.octetCount,
	}
}

// ProcessPacket extracts data from RTP packets.
func (rs *Sender) ProcessPacket(pkt *rtp.Packet, ntp time.Time, ptsEqualsDTS bool) {
	rs.mutex.Lock()
	defer rs.mutex.Unlock()

	if ptsEqualsDTS {
		isFirst := !rs.firstRTPPacketSent

		rs.firstRTPPacketSent = true
		rs.lastRTP = pkt.Timestamp
		rs.lastNTP = ntp
		rs.lastSystem = rs.TimeNow()
		rs.localSSRC = pkt.SSRC

		if isFirst {
			close(rs.firstPacket)
		}
	}

	rs.lastSequenceNumber = pkt.SequenceNumber

	rs.sent++
	rs.octetCount += uint32(len(pkt.Payload))
}

// ProcessReceptionReport extracts data from RTCP receiver reports.
func (rs *Sender) ProcessReceptionReport(report *rtcp.ReceptionReport) {
	rs.mutex.Lock()
	defer rs.mutex.Unlock()

	rs.reportedLost = uint64(report.TotalLost)
}

// Stats are statistics.
type Stats struct {
	// outbound RTP packets.
	Sent uint64
	// last sequence number of outbound RTP packets.
	LastSequenceNumber uint16
	// last RTP time of outbound RTP packets.
	LastRTP uint32
	// last NTP time of outbound RTP packets.
	LastNTP time.Time
	// outbound RTP packets reported as lost by the remote receiver.
	ReportedLost uint64

	// Deprecated: use Sent.
	TotalSent uint64
}

// Stats returns statistics.
func (rs *Sender) Stats() *Stats {
	rs.mutex.RLock()
	defer rs.mutex.RUnlock()

	if !rs.firstRTPPacketSent {
		return nil
	}

	return &Stats{
		Sent:               rs.sent,
		LastSequenceNumber: rs.lastSequenceNumber,
		LastRTP:            rs.lastRTP,
		LastNTP:            rs.lastNTP,
		ReportedLost:       rs.reportedLost,
		// deprecated
		TotalSent: rs.sent,
	}
}
