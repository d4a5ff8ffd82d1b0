package feature

// Use makes flags the snapshot that f evaluates, as a reload would.
func (f *Flags) Use(flags ...Flag) {
	snap := &snapshot{flags: make(map[string]*Flag, len(flags))}
	for i := range flags {
		snap.flags[flags[i].Key] = &flags[i]
	}

	f.snapshot.Store(snap)
}
