package jsoncodec

// graph_easyjson.go is easyjson's output for the graph types, rewritten by
// ./gen (see there for what it changes and why); TestGeneratedIsCurrent
// fails when it differs from what the generator makes now.
//go:generate go run ./gen -o graph_easyjson.go
