package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"os/user"
	"time"
)

// errNotLocal means nothing answers at the database URL and devdb may not
// start a server there, because it is another machine.
var errNotLocal = errors.New("not a local address")

// composeWait bounds the wait for the compose service after docker says it
// is healthy, while its port forwarding settles.
const composeWait = 30 * time.Second

// up makes sure a server answers at the target and its database exists,
// starting a server when nothing answers at a local address.
func (d *devdb) up(ctx context.Context) error {
	t := d.target

	err := ping(ctx, t.dsn())
	switch {
	case err == nil:
		d.say("PostgreSQL answers at %s (database %q ready)", t, t.database)

		return nil
	case databaseMissing(err):
		if _, err := ensureDatabase(ctx, t); err != nil {
			return err
		}

		d.say("PostgreSQL answers at %s (created database %q)", t, t.database)

		return nil
	case serverAnswered(err):
		return fmt.Errorf("PostgreSQL answers at %s but refuses the connection; fix DB_DSN: %w", t, err)
	case !isLocalHost(t.host):
		return fmt.Errorf("nothing answers at %s and it is %w; start it or set DB_DSN (%w)", t, errNotLocal, err)
	}

	if err := d.start(ctx); err != nil {
		return err
	}

	created, err := ensureDatabase(ctx, t)
	if err != nil {
		return err
	}

	if created {
		d.say("created database %q", t.database)
	}

	return nil
}

// start starts a server for the target, which does not answer: the
// throwaway cluster again if there is one, else the compose service if a
// Docker engine answers, else a new throwaway cluster.
func (d *devdb) start(ctx context.Context) error {
	idle := newClusterAt(d.dataDir)
	if !idle.initialized() && !d.target.socket() && d.docker(ctx) {
		return d.startCompose(ctx)
	}

	return d.startCluster(ctx)
}

// startCompose starts the compose service on the target's port.
func (d *devdb) startCompose(ctx context.Context) error {
	t := d.target
	d.say("nothing answers at %s; starting the %s (the first time, Docker pulls the image: a minute or more)", t, postgresService)

	if err := postgresService.up(ctx, d.stderr, t.port); err != nil {
		return fmt.Errorf("start the %s: %w", postgresService, err)
	}

	if err := waitAnswering(ctx, t, composeWait); err != nil {
		return err
	}

	d.say("started %s with the %s on 127.0.0.1:%d (stop it with make db-down)",
		postgresService.product, postgresService, t.port)

	return nil
}

// startCluster starts the throwaway cluster on the target's address.
func (d *devdb) startCluster(ctx context.Context) error {
	bins, err := d.findBins()
	if errors.Is(err, errNoBinaries) {
		return fmt.Errorf("nothing answers at %s and devdb cannot start a server: no Docker engine answers and %w.\n"+
			"Fix it one of these ways:\n"+
			"  - install and start Docker (devdb then runs %s), or\n"+
			"  - install PostgreSQL (apt install postgresql, dnf install postgresql-server, brew install postgresql@16), or\n"+
			"  - start a PostgreSQL server yourself and point DB_DSN at it (environment, .env or configs/server.yaml)",
			d.target, err, composeFile)
	}

	if err != nil {
		return err
	}

	c, err := d.cluster()
	if err != nil {
		return err
	}

	version, err := bins.version(ctx)
	if err != nil {
		return err
	}

	// initdb and the first start take seconds to a minute on a busy
	// machine: say what is going on before, not only after.
	if c.initialized() {
		d.say("nothing answers at %s; starting the throwaway PostgreSQL %s in %s", d.target.address(), version, c.shown("postgres"))
	} else {
		d.say("nothing answers at %s; creating a throwaway PostgreSQL %s cluster in %s (initdb, first time only, up to a minute) and starting it",
			d.target.address(), version, c.shown("postgres"))
	}

	if err := c.start(ctx, bins, d.target); err != nil {
		return err
	}

	d.say("started a throwaway PostgreSQL %s from %s in %s on %s (log %s; stop it with make db-down)",
		version, bins.dir, c.shown("postgres"), d.target.address(), c.shown("postgres.log"))

	return nil
}

// reset makes sure the server answers, then drops the database and creates
// it again, empty.
func (d *devdb) reset(ctx context.Context) error {
	if err := d.up(ctx); err != nil {
		return err
	}

	if err := recreateDatabase(ctx, d.target); err != nil {
		return err
	}

	d.say("dropped and recreated database %q at %s", d.target.database, d.target.address())

	return nil
}

// down stops the throwaway cluster and the compose service, whichever
// runs; the other compose services keep running.
func (d *devdb) down(ctx context.Context) error {
	stopped := false

	if _, ok := newClusterAt(d.dataDir).running(); ok {
		if err := d.stopCluster(ctx); err != nil {
			return err
		}

		stopped = true
	}

	if d.docker(ctx) {
		if _, ok := postgresService.hostPort(ctx); ok {
			if err := postgresService.remove(ctx, d.stderr); err != nil {
				return fmt.Errorf("stop the %s: %w", postgresService, err)
			}

			d.say("stopped the %s (its volume keeps the data)", postgresService)

			stopped = true
		}
	}

	if !stopped {
		d.say("nothing to stop")
	}

	return nil
}

func (d *devdb) stopCluster(ctx context.Context) error {
	bins, err := d.findBins()
	if err != nil {
		return fmt.Errorf("stop the throwaway cluster: %w", err)
	}

	c, err := d.cluster()
	if err != nil {
		return err
	}

	if err := c.stop(ctx, bins); err != nil {
		return err
	}

	d.say("stopped the throwaway PostgreSQL in %s (its data stays there)", c.shown("postgres"))

	return nil
}

// status says where the URL came from, whether a server answers there,
// and who started it.
func (d *devdb) status(ctx context.Context) error {
	t := d.target
	d.say("database URL %s (from %s)", t, d.source)

	err := ping(ctx, t.dsn())
	switch {
	case err == nil:
		d.say("PostgreSQL answers; database %q exists", t.database)
	case databaseMissing(err):
		d.say("PostgreSQL answers; database %q does not exist yet (go run ./scripts/devdb up creates it)", t.database)
	case serverAnswered(err):
		d.say("PostgreSQL answers but refuses the connection: %v", err)
	default:
		d.say("nothing answers at %s (go run ./scripts/devdb up starts a server)", t.address())

		if c := newClusterAt(d.dataDir); c.initialized() {
			d.say("a stopped throwaway cluster is in %s", c.shown("postgres"))
		}

		return nil
	}

	d.say("%s", d.owner(ctx))

	return nil
}

// owner says who started the server that answers at the target.
func (d *devdb) owner(ctx context.Context) string {
	t := d.target
	c := newClusterAt(d.dataDir)

	if port, ok := c.running(); ok && port == int(t.port) && isLocalHost(t.host) {
		return fmt.Sprintf("started by devdb: the throwaway cluster in %s (log %s)",
			c.shown("postgres"), c.shown("postgres.log"))
	}

	if !t.socket() && isLocalHost(t.host) && d.docker(ctx) {
		if port, ok := postgresService.hostPort(ctx); ok && port == int(t.port) {
			return "started by devdb: the " + postgresService.String()
		}
	}

	return "an existing server, not started by devdb"
}

// cluster returns the throwaway cluster, owned by the postgres OS user when
// devdb runs as root.
func (d *devdb) cluster() (cluster, error) {
	owner, err := clusterUser(d.euid, user.Lookup)
	if err != nil {
		return cluster{}, err
	}

	return newCluster(d.dataDir, owner, exec.LookPath)
}

// newClusterAt returns the cluster in dir for looking at its files only.
func newClusterAt(dir string) cluster {
	return cluster{root: dir, abs: dir}
}

// say prints one line of what devdb did.
func (d *devdb) say(format string, args ...any) {
	fmt.Fprintf(d.stdout, "devdb: "+format+"\n", args...)
}
