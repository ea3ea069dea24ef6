package qos

import "testing"

func TestCubes(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Spec
		want Cube
	}{
		{"raw", Raw, CubeBE}, {"best", BestEffort, CubeBE}, {"video", Video, CubeVideo},
		{"voice", Voice, CubeVoice}, {"data", Data, CubeBE}, {"np1", NP1, CubeBE},
		{"voice needs availability 5", Spec{Delay: 50, Bandwidth: 1, Availability: 4, MaxGap: 50}, CubeVideo},
	} {
		if got := tc.s.Cube(); got != tc.want {
			t.Errorf("%s: Cube() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNeedsFRCT(t *testing.T) {
	for name, want := range map[string]bool{"raw": false, "best": true, "video": true, "voice": true, "data": true} {
		s, ok := ByName(name)
		if !ok {
			t.Fatalf("ByName(%q) not found", name)
		}
		if s.NeedsFRCT() != want {
			t.Errorf("%s: NeedsFRCT = %v, want %v", name, !want, want)
		}
	}
	if _, ok := ByName("bogus"); ok {
		t.Error("ByName(bogus) found")
	}
}
