// Command hello is the baseline of S8 in make bench: Go's hello world,
// built for js/wasm with the same toolchain and flags as the atelier module.
package main

import "fmt"

func main() {
	fmt.Println("hello, world")
}
