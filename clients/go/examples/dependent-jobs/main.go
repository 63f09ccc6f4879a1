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
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client, err := latchwork.Dial(latchwork.Options{})
	if err != nil {
		return err
	}
	defer client.Close()
	out := json.NewEncoder(os.Stdout)

	// Subscribe before submitting: the first heartbeat says the stream is live at head_seq,
	// so every event of the jobs submitted after it will arrive.
	events := latchwork.Subscribe(ctx, client.Supervisor, &latchworkv1.SubscribeRequest{
		AfterSeq:            -1,
		HeartbeatSeconds:    1,
		IncludeCallbackRuns: true,
	})
	events.Resumed = func(afterSeq int64, cause error) {
		fmt.Fprintf(os.Stderr, "dependent-jobs: resuming after seq %d (%v)\n", afterSeq, cause)
	}
	for {
		item, err := events.Recv()
		if err != nil {
			return err
		}
		if beat := item.GetHeartbeat(); beat != nil {
			if err := out.Encode(map[string]int64{"live": beat.GetHeadSeq()}); err != nil {
				return err
			}
			break
		}
	}

	submitted, err := client.Supervisor.Submit(ctx, &latchworkv1.SubmitRequest{
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
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	pgrp := submitted.GetPgrp()
	jobA, jobB := submitted.GetJobs()[0].GetId(), submitted.GetJobs()[1].GetId()
	err = out.Encode(map[string]any{"submitted": map[string]int64{"pgrp": pgrp, "A": jobA, "B": jobB}})
	if err != nil {
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
