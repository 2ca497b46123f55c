package hashing_test

// goldenQuickBrownFox is hashing-v1's 16-dimension vector of
// "The quick brown fox", each coordinate times 1000, rounded.
var goldenQuickBrownFox = []int{164, 0, 0, 328, 164, 690, 164, 0, -328, -197, 0, -328, 0, 164, -164, 164}
