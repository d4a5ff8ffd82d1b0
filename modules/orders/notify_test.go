package orders_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"

	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/moduletest"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/notifier/notifiertest"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/modules/orders"
	orderevents "github.com/modulith/modulith/modules/orders/events"
)

// confirmationsSubscriber is the durable name of the module's
// confirmations.
const confirmationsSubscriber = "orders-notifier"

// unreachable stands in for the auth module, which confirmations never
// call.
type unreachable struct{}

var errUnreachable = errors.New("auth is not running in this test")

func (unreachable) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return errUnreachable
}

func (unreachable) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, errUnreachable
}

// platform is the orders module as moduletest runs it, on a database of
// its own with the bus's fast retries (bustest), and the given providers.
type platform struct {
	*bustest.DB

	bus *events.Bus
}

// startOrders runs the module with email and sms as the providers (nil:
// no provider for the channel).
func startOrders(t *testing.T, email notifier.EmailProvider, sms notifier.SMSProvider) *platform {
	t.Helper()

	modules := []registry.Module{orders.Module{}}
	db := bustest.NewDB(t, registry.MigrationSources(modules)...)
	p := moduletest.Start(t, db.Pool, modules, moduletest.Options{
		Env: bustest.FastEnv(), Notifier: notifier.New(email, sms),
		Remote: map[string]grpc.ClientConnInterface{"auth": unreachable{}},
	})

	return &platform{DB: db, bus: p.Bus}
}

// outcomes waits for n finished confirmations and returns them as "order
// state attempts" (an order's events have its ID as ordering key).
func (p *platform) outcomes(n int) []string {
	var out []string
	for _, d := range p.AwaitFinished(confirmationsSubscriber, n) {
		out = append(out, fmt.Sprintf("%s %s %d", d.OrderingKey, d.State, d.Attempts))
	}

	return out
}

// An order's confirmation goes, over the channel it carries sealed, to its
// destination; nothing is sent for an order that cannot be confirmed here
// (no destination, no channel, no provider for it), whose delivery is dead
// at once rather than retried.
func TestOrderConfirmations(t *testing.T) {
	t.Parallel()

	order := func(id, channel, destination string) orderevents.OrderCreated {
		return orderevents.OrderCreated{
			OrderID: id, UserID: "usr_ada", TotalMinor: 2699, Currency: "EUR", ItemCount: 3,
			Channel: channel, Destination: destination,
		}
	}

	p := &notifiertest.Provider{}
	o := startOrders(t, p, nil)

	for _, e := range []orderevents.OrderCreated{
		order("ord_email", "email", "ada@example.com"),
		order("ord_no_destination", "email", ""),
		order("ord_no_channel", "", "ada@example.com"),
		order("ord_unknown_channel", "pigeon", "ada@example.com"),
		order("ord_sms_no_provider", "sms", "+14155550100"),
	} {
		o.Publish(o.bus, e)
	}

	want := []string{
		"ord_email delivered 1",
		"ord_no_destination dead 1",
		"ord_no_channel dead 1",
		"ord_unknown_channel dead 1",
		"ord_sms_no_provider dead 1",
	}
	if diff := cmp.Diff(want, o.outcomes(len(want))); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}

	calls, emails, sms := p.Calls(), p.Emails(), p.SMS()
	wantEmails := []notifier.Email{{
		To:      "ada@example.com",
		Subject: "Order ord_email placed",
		Text:    "Thank you: your order ord_email of 3 item(s), 26.99 EUR, is placed.\n",
		HTML: "<!doctype html>\n<html>\n<body style=\"font-family: sans-serif\">\n" +
			"<p>Thank you: your order <b>ord_email</b> of 3 item(s), 26.99 EUR, is placed.</p>\n</body>\n</html>\n",
	}}

	if diff := cmp.Diff(wantEmails, emails); diff != "" || calls != 1 || len(sms) != 0 {
		t.Errorf("provider called %d times (want 1), SMS %v (want none), emails (-want +got):\n%s", calls, sms, diff)
	}

	letters, err := o.bus.DeadLetters(t.Context(), confirmationsSubscriber)
	if err != nil || len(letters) != 4 {
		t.Fatalf("DeadLetters() = %d, %v; want 4", len(letters), err)
	}
}

func TestOrderConfirmationBySMS(t *testing.T) {
	t.Parallel()

	tests := []struct {
		totalMinor int64
		currency   string
		items      int
		want       string
	}{
		{totalMinor: 2699, currency: "EUR", items: 3, want: "3 item(s), 26.99 EUR."},
		{totalMinor: 5, currency: "USD", items: 1, want: "1 item(s), 0.05 USD."},
		{totalMinor: 1005, currency: "EUR", items: 2, want: "2 item(s), 10.05 EUR."},
		{totalMinor: 100000, currency: "GBP", items: 50, want: "50 item(s), 1000.00 GBP."},
	}

	p := &notifiertest.Provider{}
	o := startOrders(t, nil, p)

	for i, tt := range tests {
		o.Publish(o.bus, orderevents.OrderCreated{
			OrderID: fmt.Sprintf("ord_%d", i), UserID: "usr_ada", TotalMinor: tt.totalMinor, Currency: tt.currency,
			ItemCount: tt.items, Channel: "sms", Destination: fmt.Sprintf("+1415555010%d", i),
		})
	}

	o.outcomes(len(tests))

	emails, sms := p.Emails(), p.SMS()
	if len(emails) != 0 {
		t.Errorf("sent emails %v, want none", emails)
	}

	got := make(map[string]string)
	for _, m := range sms {
		got[m.To] = m.Body
	}

	for i, tt := range tests {
		to := fmt.Sprintf("+1415555010%d", i)
		if want := fmt.Sprintf("Order ord_%d placed: %s", i, tt.want); got[to] != want {
			t.Errorf("SMS to %s for %d %s = %q, want %q", to, tt.totalMinor, tt.currency, got[to], want)
		}
	}
}

// A confirmation the provider fails to take is retried until it does.
func TestOrderConfirmationRetriesFailingProvider(t *testing.T) {
	t.Parallel()

	p := &notifiertest.Provider{Failures: 2}
	o := startOrders(t, p, p)
	o.Publish(o.bus, orderevents.OrderCreated{
		OrderID: "ord_1", UserID: "usr_ada", TotalMinor: 2699, Currency: "EUR", ItemCount: 3,
		Channel: "email", Destination: "ada@example.com",
	})

	if diff := cmp.Diff([]string{"ord_1 delivered 3"}, o.outcomes(1)); diff != "" {
		t.Errorf("deliveries (-want +got), want two failures then success:\n%s", diff)
	}

	calls, emails := p.Calls(), p.Emails()
	if calls != 3 || len(emails) != 1 || emails[0].To != "ada@example.com" || emails[0].Subject != "Order ord_1 placed" {
		t.Errorf("provider called %d times, sent %+v; want 3 calls and the confirmation of ord_1 to ada@example.com", calls, emails)
	}
}
