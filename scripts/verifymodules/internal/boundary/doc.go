// Package boundary checks the boundaries between the business modules of the
// repository and between the modules and the platform, and describes how the
// modules depend on one another.
//
// [Analyze] reads a repository (go.mod, modules/<name>/, proto/<name>/ and the
// platform packages under internal/ and cmd/server/) from source, without
// compiling it, and returns a [Report]: every module with its gRPC services,
// dependencies, the typed event payloads its events package declares and the
// events it publishes and consumes, the platform packages that modules route
// events to, and every [Violation] of the rules:
//
//   - module-import: a module imports another module's packages (other than
//     its events package) or the composition root under cmd/.
//   - module-cycle: modules depend on one another in a cycle.
//   - foreign-schema: a module's SQL names another module's schema or a
//     platform schema.
//   - platform-names-module: a platform package imports a module or has a
//     string literal that names one (its name, "<module>." or "/<module>.").
//
// [Markdown] renders a report as docs/modules.md, which also states every
// rule and how the graph is derived.
package boundary
