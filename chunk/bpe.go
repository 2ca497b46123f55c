package chunk

import "math"

// bytePairMerge splits piece (one pre-token that is not itself a token)
// into tokens by tiktoken's byte-pair merge and calls emit with the id and
// byte length of each token, in order. It is a port of tiktoken-go's
// bytePairMerge (MIT licence, github.com/pkoukk/tiktoken-go), itself a port
// of OpenAI tiktoken's _byte_pair_merge.
func bytePairMerge(piece string, ranks map[string]int, emit func(id, size int)) {
	if len(piece) == 1 {
		emit(ranks[piece], 1)
		return
	}
	var buf [64][2]int
	var parts [][2]int
	if len(piece)+1 <= len(buf) {
		parts = buf[:len(piece)+1]
	} else {
		parts = make([][2]int, len(piece)+1)
	}
	for i := range parts {
		parts[i] = [2]int{i, math.MaxInt}
	}
	getRank := func(start, skip int) int {
		if start+skip+2 < len(parts) {
			if r, ok := ranks[piece[parts[start][0]:parts[start+skip+2][0]]]; ok {
				return r
			}
		}
		return -1
	}
	for i := 0; i < len(parts)-2; i++ {
		if r := getRank(i, 0); r >= 0 {
			parts[i][1] = r
		}
	}
	for len(parts) > 1 {
		minRank, minIdx := math.MaxInt, -1
		for i := 0; i < len(parts)-1; i++ {
			if parts[i][1] < minRank {
				minRank, minIdx = parts[i][1], i
			}
		}
		if minRank == math.MaxInt {
			break
		}
		i := minIdx
		if r := getRank(i, 1); r >= 0 {
			parts[i][1] = r
		} else {
			parts[i][1] = math.MaxInt
		}
		if i > 0 {
			if r := getRank(i-1, 1); r >= 0 {
				parts[i-1][1] = r
			} else {
				parts[i-1][1] = math.MaxInt
			}
		}
		parts = append(parts[:i+1], parts[i+2:]...)
	}
	for i := 0; i+1 < len(parts); i++ {
		s, e := parts[i][0], parts[i+1][0]
		emit(ranks[piece[s:e]], e-s)
	}
}
