// Package shop is a module of the fixture repository.
package shop
