module github.com/minirag/minirag/bench

go 1.26.0

replace github.com/minirag/minirag => ../

require (
	github.com/minirag/minirag v0.0.0-00010101000000-000000000000 // indirect
	github.com/philippgille/chromem-go v0.7.0 // indirect
	github.com/tmc/langchaingo v0.1.14 // indirect
)
