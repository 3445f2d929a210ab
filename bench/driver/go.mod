module github.com/atelierstore/atelier/bench/driver

go 1.25.0

require (
	github.com/atelierstore/atelier/browsertest v0.0.0
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
)

require github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect

replace github.com/atelierstore/atelier/browsertest => ../../browsertest
