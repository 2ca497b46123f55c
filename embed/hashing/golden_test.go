package hashing_test

// goldenQuickBrownFox is hashing-v1's 16-dimension vector of
// "The quick brown fox", each coordinate times 1000, rounded.
var goldenQuickBrownFox = []int{72, 217, -108, 144, 144, 794, 72, 0, -217, -361, -36, -217, -36, 72, -144, 72}
