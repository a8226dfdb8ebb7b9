//go:build tools

// Package tools only records, for `go mod tidy`, the main package that
// build-node-image.sh compiles. It is never built itself.
package tools

import _ "go.etcd.io/etcd/server/v3"
