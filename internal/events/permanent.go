package events

import "errors"

// Permanent marks err as a failure that retrying cannot fix (a payload that
// does not decode, a notification with no address): the delivery becomes
// dead at once, listed by `server events dead` and redriven once its cause
// is fixed, instead of being retried until MaxAttempts.
func Permanent(err error) error {
	if err == nil {
		return nil
	}

	return &permanentError{err: err}
}

// IsPermanent reports whether err's chain holds an error marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError

	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }

func (e *permanentError) Unwrap() error { return e.err }
