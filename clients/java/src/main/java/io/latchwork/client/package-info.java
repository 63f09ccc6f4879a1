/**
 * A small wrapper over the generated Latchwork gRPC stubs ({@code io.latchwork.v1}): {@link
 * io.latchwork.client.Latchwork} connects with the settings from the environment, {@link
 * io.latchwork.client.ResumingSubscription} is an event stream that resumes after lost
 * connections, {@link io.latchwork.client.StreamGapException} says it cannot.
 */
package io.latchwork.client;
