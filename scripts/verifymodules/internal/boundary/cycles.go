package boundary

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// edge is why one module depends on another: its first dependency.
type edge struct {
	via string
	pos Position
}

// checkCycles applies RuleCycle: for every module, the shortest cycle
// through it among the modules not sorted before it, so that each cycle is
// reported once, from its first module.
func (a *analyzer) checkCycles() {
	graph := map[string]map[string]edge{}

	for _, name := range a.names {
		graph[name] = map[string]edge{}

		for _, d := range a.modules[name].dependencies() {
			if _, ok := graph[name][d.Module]; !ok {
				graph[name][d.Module] = edge{via: d.Via, pos: d.Pos}
			}
		}
	}

	for _, start := range a.names {
		if cycle := shortestCycle(graph, start); cycle != nil {
			a.reportCycle(graph, cycle)
		}
	}
}

// shortestCycle returns the modules of the shortest cycle from start back to
// it that passes only through modules sorted after start, start first and
// last; nil when there is none.
func shortestCycle(graph map[string]map[string]edge, start string) []string {
	parent := map[string]string{}
	queue := []string{start}

	for len(queue) > 0 {
		from := queue[0]
		queue = queue[1:]

		for _, to := range slices.Sorted(maps.Keys(graph[from])) {
			if to == start {
				return cyclePath(parent, start, from)
			}

			if _, seen := parent[to]; seen || to < start {
				continue
			}

			parent[to] = from
			queue = append(queue, to)
		}
	}

	return nil
}

// cyclePath walks parent links back from last to start.
func cyclePath(parent map[string]string, start, last string) []string {
	path := []string{start}
	for n := last; n != start; n = parent[n] {
		path = append(path, n)
	}

	slices.Reverse(path[1:])

	return append(path, start)
}

func (a *analyzer) reportCycle(graph map[string]map[string]edge, cycle []string) {
	evidence := make([]string, 0, len(cycle)-1)
	for i := range len(cycle) - 1 {
		e := graph[cycle[i]][cycle[i+1]]
		evidence = append(evidence, fmt.Sprintf("%s -> %s: %s at %s", cycle[i], cycle[i+1], e.via, e.pos))
	}

	a.violation(graph[cycle[0]][cycle[1]].pos, RuleCycle, "modules depend on one another in a cycle: %s (%s)",
		strings.Join(cycle, " -> "), strings.Join(evidence, "; "))
}
