package latchwork_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/latchwork/latchwork/clients/go/latchwork"
	"github.com/latchwork/latchwork/clients/go/latchworkv1"
)

// Submit a job and follow its process group's events; the stream resumes by itself after a
// lost connection or a supervisor restart. (Compiled by go test, not run: it needs a server.)
func ExampleSubscribe() {
	ctx := context.Background()
	client, err := latchwork.Dial(latchwork.Options{}) // LATCHWORK_ADDRESS, _USER, _TOKEN, _TLS_CA
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	reply, err := client.Supervisor.Submit(ctx, &latchworkv1.SubmitRequest{
		Jobs: []*latchworkv1.JobSpec{{Name: "render", Command: &latchworkv1.Command{Cmdline: "echo hi"}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	events := latchwork.Subscribe(ctx, client.Supervisor, &latchworkv1.SubscribeRequest{
		Pgrps:    []int64{reply.GetPgrp()},
		AfterSeq: reply.GetSeq(), // everything after the submission; nothing can be missed
	})
	for {
		item, err := events.Recv()
		var gap *latchwork.GapError
		if errors.As(err, &gap) {
			log.Fatalf("events after %d are gone: re-list with a snapshot", gap.AfterSeq)
		}
		if err != nil {
			log.Fatal(err)
		}
		if event := item.GetEvent(); event != nil {
			fmt.Println(event.GetSeq(), event.GetName(), event.GetStatus())
			if event.GetEventType() == latchworkv1.EventType_EVENT_TYPE_JOB && event.GetStatus() == "complete" {
				return
			}
		}
	}
}

// Several supervisors of which one leads (the others are standbys that take over): each call
// goes to one address and moves on to the next when that one is UNAVAILABLE.
func ExampleDial_severalSupervisors() {
	ctx := context.Background()
	client, err := latchwork.Dial(latchwork.Options{Address: "render-sup-1:50051,render-sup-2:50051"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	// A read (as Submit and the controls) is retried on the next address; AddCallbacks is not.
	reply, err := client.Supervisor.GetJob(ctx, &latchworkv1.GetJobRequest{JobId: 42})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(reply.GetJob().GetStatus())
}
