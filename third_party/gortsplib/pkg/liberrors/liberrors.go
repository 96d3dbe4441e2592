// Package liberrors contains errors returned by the library.
package liberrors
