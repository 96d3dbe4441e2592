package media

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestBitrateEveryForm(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Bitrate
	}{
		{"4500k", 4_500_000}, {"4.5M", 4_500_000}, {"4500000", 4_500_000}, {"300k", 300_000}, {" 2m ", 2_000_000}, {"0", 0},
	} {
		got, err := ParseBitrate(c.in)
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
	for _, bad := range []string{"", "fast", "-1k", "NaNk", "1e20", "99999999999", "k"} {
		_, err := ParseBitrate(bad)
		require.Error(t, err, bad)
	}
}

// The same value types in the file (YAML) and the API (JSON): a number or a
// string with a suffix, both ways.
func TestBitrateInYAMLAndJSON(t *testing.T) {
	var y struct {
		A Bitrate `yaml:"a"`
		B Bitrate `yaml:"b"`
	}
	require.NoError(t, yaml.Unmarshal([]byte("a: 2500k\nb: 2500000\n"), &y))
	require.Equal(t, Bitrate(2_500_000), y.A)
	require.Equal(t, Bitrate(2_500_000), y.B)
	var j struct {
		A Bitrate `json:"a"`
		B Bitrate `json:"b"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"a":"300k","b":300000}`), &j))
	require.Equal(t, Bitrate(300_000), j.A)
	require.Equal(t, Bitrate(300_000), j.B)
	require.Error(t, json.Unmarshal([]byte(`{"a":"fast"}`), &j))
	require.Error(t, json.Unmarshal([]byte(`{"a":true}`), &j))
	out, err := json.Marshal(j)
	require.NoError(t, err)
	require.JSONEq(t, `{"a":300000,"b":300000}`, string(out))
	require.Equal(t, "4500k", Bitrate(4_500_000).String())
	require.Equal(t, "2M", Bitrate(2_000_000).String())
}
