package commands

import (
	"bytes"
	"context"
	"encoding/json"
	stderrors "errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"strings"
	"text/tabwriter"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/feature"
)

var errFlagsUsage = stderrors.New(`flags: want list, get <key>, set <key> [-type T] [-value V] [-description D] [-enabled=false] [-rules JSON] or delete <key>`)

// flagsCmd lists and changes feature flags through the same store as the
// admin API, publishing the same events, with "cli:<OS user>" as actor:
//
//	flags list
//	flags get <key>                  the flag as JSON, as the REST API returns it
//	flags set <key> [options]        create it, or change what the options name
//	flags delete <key>
func flagsCmd(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || (args[0] != "list" && len(args) < 2) {
		return errFlagsUsage
	}

	return withBus(ctx, e, func(p *process, bus *events.Bus) error {
		// The replicas reload on the change's notification.
		store := feature.NewStore(p.pool, bus, nil)

		return describeInvalid(runFlags(ctx, e.stdout, store, cliActor(), args))
	})
}

func runFlags(ctx context.Context, w io.Writer, store *feature.Store, actor string, args []string) error {
	switch args[0] {
	case "list":
		return listFlags(ctx, w, store)
	case "get":
		f, err := store.Get(ctx, args[1])
		if err != nil {
			return err
		}

		return printFlag(w, f)
	case "set":
		return setFlag(ctx, w, store, actor, args[1], args[2:])
	case "delete":
		if _, err := store.Delete(ctx, actor, args[1]); err != nil {
			return err
		}

		_, err := fmt.Fprintf(w, "deleted %s\n", args[1])

		return wrapWrite(err)
	default:
		return errFlagsUsage
	}
}

// cliActor is who `server flags` changes flags as: cli:<OS user>.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}

	return "cli"
}

func listFlags(ctx context.Context, w io.Writer, store *feature.Store) error {
	flags, err := store.List(ctx)
	if err != nil {
		return err
	}

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "KEY\tTYPE\tENABLED\tVALUE\tRULES\tVERSION\tUPDATED BY")

	for _, f := range flags {
		value, _ := json.Marshal(f.Value)
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%d\t%d\t%s\n", f.Key, f.Type, f.Enabled, value, len(f.Rules), f.Version, f.UpdatedBy)
	}

	return wrapWrite(tw.Flush())
}

func printFlag(w io.Writer, f feature.Flag) error {
	b, err := protojson.MarshalOptions{Multiline: true, UseProtoNames: true}.Marshal(feature.ToProto(f))
	if err != nil {
		return fmt.Errorf("encode flag %s: %w", f.Key, err)
	}

	_, err = fmt.Fprintf(w, "%s\n", b)

	return wrapWrite(err)
}

// setFlag creates key, or changes what the options name and keeps the rest.
func setFlag(ctx context.Context, w io.Writer, store *feature.Store, actor, key string, args []string) error {
	f, err := store.Get(ctx, key)
	exists := err == nil

	switch {
	case errors.IsType(err, errors.TypeNotFound):
		f = feature.Flag{Key: key, Enabled: true}
	case err != nil:
		return err
	}

	if err := applyOptions(&f, args); err != nil {
		return err
	}

	change, save := "created", store.Create
	if exists {
		change, save = "updated", store.Update
	}

	saved, err := save(ctx, actor, f)
	if err != nil {
		return err
	}

	_, err = fmt.Fprintf(w, "%s %s (version %d)\n", change, saved.Key, saved.Version)

	return wrapWrite(err)
}

// applyOptions sets what the options of `flags set` name on f.
func applyOptions(f *feature.Flag, args []string) error {
	fs := flag.NewFlagSet("flags set", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	typ := fs.String("type", string(f.Type), "boolean, string, int or float")
	value := fs.String("value", "", "the value when no rule matches: true, 42, 0.5, or a string")
	description := fs.String("description", f.Description, "what the flag switches")
	enabled := fs.Bool("enabled", f.Enabled, "false: every evaluation gets the code's default")
	rules := fs.String("rules", "", `targeting rules as JSON: [{"user_ids":[…],"roles":[…],"percentage":N,"value":V}]`)

	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("flags set: %w", err)
	}

	if fs.NArg() > 0 {
		return fmt.Errorf("flags set: unexpected %q", fs.Args())
	}

	f.Type, f.Description, f.Enabled = feature.Type(*typ), *description, *enabled

	var errs []error

	fs.Visit(func(o *flag.Flag) {
		switch o.Name {
		case "value":
			f.Value = parseValue(f.Type, *value)
		case "rules":
			errs = append(errs, decodeJSON(*rules, &f.Rules))
		}
	})

	return stderrors.Join(errs...)
}

// parseValue reads a value given on the command line: a string flag's as
// it is, any other as JSON (Validate refuses what is not of the type).
func parseValue(t feature.Type, s string) any {
	if t == feature.TypeString {
		return s
	}

	var v any
	if decodeJSON(s, &v) != nil {
		return s
	}

	return v
}

// decodeJSON decodes s into v, numbers as json.Number so that large
// integers stay exact.
func decodeJSON(s string, v any) error {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()

	if err := d.Decode(v); err != nil {
		return fmt.Errorf("flags set: %q is not JSON: %w", s, err)
	}

	return nil
}

// describeInvalid adds the invalid fields of a validation error to its
// message: a terminal shows no error details.
func describeInvalid(err error) error {
	var de *errors.DomainError
	if !stderrors.As(err, &de) || len(de.Fields) == 0 {
		return err
	}

	var b bytes.Buffer
	for _, f := range de.Fields {
		fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Description)
	}

	return fmt.Errorf("%w:%s", err, b.String())
}
