module github.com/atelierstore/atelier

go 1.26

require (
	github.com/google/uuid v1.6.0
	github.com/hack-pad/go-indexeddb v0.3.2
	github.com/klauspost/compress v1.20.3
	github.com/mailru/easyjson v0.9.2
	github.com/vmihailenco/msgpack/v5 v5.4.1
)

require (
	github.com/hack-pad/safejs v0.1.0 // indirect
	github.com/josharian/intern v1.0.0 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
)
