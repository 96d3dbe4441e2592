// Package auth contains utilities to perform authentication.
package auth
