package latchwork

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// FieldViolation is one problem the supervisor found in a request: Field is its path in the
// request ("jobs[2].label", "page_token"), Description says what is wrong.
type FieldViolation struct {
	Field       string
	Description string
}

// FieldViolations returns the problems an INVALID_ARGUMENT from the supervisor names, in the
// order it found them. They travel as a google.rpc.BadRequest in the status details
// (docs/errors.md); at most 20 are listed, the status message counts the rest ("and N more").
//
// It returns nil for any other error, and never fails on details it cannot read: at worst
// the list is empty and the status message still names the problems.
func FieldViolations(err error) []FieldViolation {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		return nil
	}
	var violations []FieldViolation
	for _, detail := range st.Details() { // an undecodable detail comes back as an error value
		if request, ok := detail.(*errdetails.BadRequest); ok {
			for _, v := range request.GetFieldViolations() {
				violations = append(violations, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
			}
		}
	}
	return violations
}
