// Command invalid-request sends a Submit the supervisor refuses (25 jobs without a command
// line) and prints what a program can read from the refusal, as one JSON line: the status
// code (a number, 3 is INVALID_ARGUMENT), the message, and the field violations.
//
//	LATCHWORK_ADDRESS=localhost:50051 go run ./examples/invalid-request
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc/status"

	"github.com/latchwork/latchwork/clients/go/latchwork"
	"github.com/latchwork/latchwork/clients/go/latchworkv1"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "invalid-request:", err)
		os.Exit(1)
	}
}

type violationJSON struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := latchwork.Dial(latchwork.Options{})
	if err != nil {
		return err
	}
	defer client.Close()

	var jobs []*latchworkv1.JobSpec
	for i := range 25 {
		jobs = append(jobs, &latchworkv1.JobSpec{Name: fmt.Sprintf("shot%d", i)}) // no command
	}
	_, err = client.Supervisor.Submit(ctx, &latchworkv1.SubmitRequest{Jobs: jobs})
	if err == nil {
		return fmt.Errorf("the supervisor accepted jobs without a command line")
	}
	violations := []violationJSON{}
	for _, v := range latchwork.FieldViolations(err) { // none unless INVALID_ARGUMENT
		violations = append(violations, violationJSON{Field: v.Field, Description: v.Description})
	}
	st := status.Convert(err)
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"code": int(st.Code()), "message": st.Message(), "violations": violations,
	})
}
