package io.latchwork.examples;

import io.latchwork.client.Latchwork;
import io.latchwork.client.ResumingSubscription;
import io.latchwork.client.StreamGapException;
import io.latchwork.v1.Command;
import io.latchwork.v1.Event;
import io.latchwork.v1.EventType;
import io.latchwork.v1.JobSpec;
import io.latchwork.v1.SubmitRequest;
import io.latchwork.v1.SubmitResponse;
import io.latchwork.v1.SubscribeRequest;
import io.latchwork.v1.SubscribeResponse;

/**
 * clients/README.md's Java snippet as a whole program (compiled by build.sh): submit a job and
 * follow its process group's events until it completes; the stream resumes by itself.
 */
public final class FollowJob {
  private FollowJob() {}

  public static void main(String[] args) throws Exception {
    try (Latchwork lw = Latchwork.connect()) { // address, user, token, TLS from the environment
      SubmitResponse reply =
          lw.supervisor()
              .submit(
                  SubmitRequest.newBuilder()
                      .addJobs(
                          JobSpec.newBuilder()
                              .setName("render")
                              .setCommand(Command.newBuilder().setCmdline("echo hi")))
                      .build());
      SubscribeRequest request =
          SubscribeRequest.newBuilder()
              .addPgrps(reply.getPgrp())
              .setAfterSeq(reply.getSeq())
              .build();
      try (ResumingSubscription events = lw.subscribe(request)) {
        while (events.hasNext()) { // blocks; reconnects and resumes after the last seq by itself
          SubscribeResponse item = events.next();
          if (item.hasEvent()) {
            Event event = item.getEvent();
            System.out.println(event.getSeq() + " " + event.getStatus());
            if (event.getEventType() == EventType.EVENT_TYPE_JOB
                && event.getStatus().equals("complete")) {
              break;
            }
          }
        }
      } catch (StreamGapException gap) {
        System.err.println("events after " + gap.afterSeq() + " are gone: re-list with a snapshot");
        throw gap;
      }
    }
  }
}
