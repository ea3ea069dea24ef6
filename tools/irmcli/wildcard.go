package irmcli

// wildcard reports whether s matches pattern, where '*' matches any run of
// bytes and every other byte itself: the reference's wildcard_match, quirks
// included (a '*' followed by more pattern needs at least one byte of s).
func wildcard(pattern, s string) bool {
	for i := 0; i < len(pattern); i++ {
		if pattern[i] == '*' {
			rest := pattern[i+1:]
			if rest == "" {
				return true
			}
			for ; s != ""; s = s[1:] {
				if wildcard(rest, s) {
					return true
				}
			}
			return false
		}
		if s == "" || pattern[i] != s[0] {
			return false
		}
		s = s[1:]
	}
	return s == ""
}
