// Command dependent-jobs submits job A and a job B that depends on it, streams the
// supervisor's events until B completes, and prints each event as a JSON line.
//
//	LATCHWORK_ADDRESS=localhost:50051 go run ./examples/dependent-jobs
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/latchwork/latchwork/clients/go/latchwork"
	"github.com/latchwork/latchwork/clients/go/latchworkv1"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dependent-jobs:", err)
		os.Exit(1)
	}
}

func run() error {
	// Ctrl-C stops the example; nothing else does. A stream has no deadline: it lasts as long
	// as the jobs take, and resumes by itself across lost connections.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	client, err := latchwork.Dial(latchwork.Options{})
	if err != nil {
		return err
	}
	defer client.Close()
	out := json.NewEncoder(os.Stdout)

	submitted, err := submit(ctx, client)
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	pgrp := submitted.GetPgrp()
	jobA, jobB := submitted.GetJobs()[0].GetId(), submitted.GetJobs()[1].GetId()
	err = out.Encode(map[string]any{"submitted": map[string]int64{"pgrp": pgrp, "A": jobA, "B": jobB}})
	if err != nil {
		return err
	}

	// Only this process group's events, from just after the submission: the events of the
	// rest of the farm are never sent, and nothing of A and B can be missed (events before
	// the call started are read from the supervisor's log).
	events := latchwork.Subscribe(ctx, client.Supervisor, &latchworkv1.SubscribeRequest{
		Pgrps:               []int64{pgrp},
		AfterSeq:            submitted.GetSeq(),
		HeartbeatSeconds:    1,
		IncludeCallbackRuns: true, // the dependency is a callback on A: its run has a seq too
	})
	events.Resumed = func(afterSeq int64, cause error) {
		fmt.Fprintf(os.Stderr, "dependent-jobs: resuming after seq %d (%v)\n", afterSeq, cause)
	}
	if err := out.Encode(map[string]int64{"live": submitted.GetSeq()}); err != nil {
		return err
	}

	for {
		item, err := events.Recv()
		var gap *latchwork.GapError
		if errors.As(err, &gap) {
			return fmt.Errorf("the event stream has a gap: %w", err)
		}
		if err != nil {
			return err
		}
		event := item.GetEvent()
		if event == nil {
			continue // a heartbeat
		}
		if err := out.Encode(eventLine(event, pgrp)); err != nil {
			return err
		}
		isJob := event.GetEventType() == latchworkv1.EventType_EVENT_TYPE_JOB
		ours := event.GetJobId() == jobA || event.GetJobId() == jobB
		switch {
		case isJob && ours && event.GetName() == latchworkv1.EventName_EVENT_NAME_FAILED:
			return fmt.Errorf("job %s (%d) failed: %s", event.GetLabel(), event.GetJobId(), event.GetMessage())
		case isJob && event.GetJobId() == jobB && event.GetName() == latchworkv1.EventName_EVENT_NAME_COMPLETE:
			return nil
		}
	}
}

// submit sends A (three frames) and B, which runs once A is complete. The request id makes a
// retried Submit store nothing twice, so the call may wait for a supervisor that restarts.
func submit(ctx context.Context, client *latchwork.Client) (*latchworkv1.SubmitResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second) // a unary call does have a deadline
	defer cancel()
	return client.Supervisor.Submit(ctx, &latchworkv1.SubmitRequest{
		RequestId: requestID(),
		Jobs: []*latchworkv1.JobSpec{
			{
				Name:      "example-A",
				Label:     "A",
				Prototype: latchworkv1.Prototype_PROTOTYPE_CMDRANGE,
				Command: &latchworkv1.Command{
					Cmdline:    "sleep 0.3; echo frame QB_FRAME_NUMBER",
					FrameRange: "1-3",
				},
			},
			{
				Name:       "example-B",
				Label:      "B",
				Prototype:  latchworkv1.Prototype_PROTOTYPE_CMDLINE,
				Command:    &latchworkv1.Command{Cmdline: "echo B ran after A"},
				Dependency: "link-complete-job-A",
			},
		},
	})
}

// eventLine is the printed form of an event; field order is fixed by the struct.
type eventLineJSON struct {
	Seq    int64  `json:"seq"`
	Job    string `json:"job"`
	JobID  int64  `json:"job_id"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Work   string `json:"work"`
	Status string `json:"status"`
}

func eventLine(event *latchworkv1.Event, pgrp int64) eventLineJSON {
	job := ""
	if event.GetPgrp() == pgrp {
		job = event.GetLabel()
	}
	return eventLineJSON{
		Seq:    event.GetSeq(),
		Job:    job,
		JobID:  event.GetJobId(),
		Name:   strings.ToLower(strings.TrimPrefix(event.GetName().String(), "EVENT_NAME_")),
		Type:   strings.ToLower(strings.TrimPrefix(event.GetEventType().String(), "EVENT_TYPE_")),
		Work:   event.GetWorkName(),
		Status: event.GetStatus(),
	}
}

// requestID makes the Submit idempotent: a retry with the same id stores nothing twice.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
