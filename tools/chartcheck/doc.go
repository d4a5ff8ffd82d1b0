// Package chartcheck holds the test that ties the Helm chart in
// deployment/helm/modulith to the code: it renders the chart for each
// topology in ci/*-values.yaml with the pinned helm, decodes every object
// strictly into the Kubernetes API types (an unknown or misspelt field
// fails), and checks that the environment, ports, probes, commands and
// REMOTE_MODULES targets of the rendering are ones the binary and the
// rendering itself provide.
package chartcheck
