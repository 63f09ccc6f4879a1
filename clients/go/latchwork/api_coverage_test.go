package latchwork_test

// Compile-level proof that every RPC of both services, with its request and response
// message, is reachable from Go: each line below stops compiling if a method, a message or
// a signature changes. tests/language_clients/test_api_coverage.py checks this file names every RPC
// in the protos.

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	v1 "github.com/latchwork/latchwork/clients/go/latchworkv1"
)

type (
	sup = v1.SupervisorServiceClient
	wrk = v1.WorkerServiceClient
	ctx = context.Context
	opt = grpc.CallOption
)

var (
	_ func(sup, ctx, *v1.SubmitRequest, ...opt) (*v1.SubmitResponse, error)                                  = sup.Submit
	_ func(sup, ctx, *v1.SubscribeRequest, ...opt) (grpc.ServerStreamingClient[v1.SubscribeResponse], error) = sup.Subscribe
	_ func(sup, ctx, *v1.GetJobRequest, ...opt) (*v1.GetJobResponse, error)                                  = sup.GetJob
	_ func(sup, ctx, *v1.ListJobsRequest, ...opt) (*v1.ListJobsResponse, error)                              = sup.ListJobs
	_ func(sup, ctx, *v1.ControlJobsRequest, ...opt) (*v1.ControlJobsResponse, error)                        = sup.ControlJobs
	_ func(sup, ctx, *v1.AddCallbacksRequest, ...opt) (*v1.AddCallbacksResponse, error)                      = sup.AddCallbacks
	_ func(sup, ctx, *v1.ListCallbackRunsRequest, ...opt) (*v1.ListCallbackRunsResponse, error)              = sup.ListCallbackRuns
	_ func(sup, ctx, *v1.ValidateTriggerRequest, ...opt) (*v1.ValidateTriggerResponse, error)                = sup.ValidateTrigger
	_ func(sup, ctx, *v1.GetWorkOutputRequest, ...opt) (*v1.GetWorkOutputResponse, error)                    = sup.GetWorkOutput
	_ func(sup, ctx, *v1.ListHostsRequest, ...opt) (*v1.ListHostsResponse, error)                            = sup.ListHosts
	_ func(sup, ctx, *v1.GetHostRequest, ...opt) (*v1.GetHostResponse, error)                                = sup.GetHost
	_ func(sup, ctx, *v1.ControlHostsRequest, ...opt) (*v1.ControlHostsResponse, error)                      = sup.ControlHosts
	_ func(sup, ctx, *v1.ModifyJobsRequest, ...opt) (*v1.ModifyJobsResponse, error)                          = sup.ModifyJobs
	_ func(sup, ctx, *v1.ExplainJobRequest, ...opt) (*v1.ExplainJobResponse, error)                          = sup.ExplainJob
	_ func(sup, ctx, *v1.SummarizeFarmRequest, ...opt) (*v1.SummarizeFarmResponse, error)                    = sup.SummarizeFarm

	_ func(wrk, ctx, *v1.RegisterWorkerRequest, ...opt) (*v1.RegisterWorkerResponse, error)                             = wrk.RegisterWorker
	_ func(wrk, ctx, *v1.HeartbeatRequest, ...opt) (*v1.HeartbeatResponse, error)                                       = wrk.Heartbeat
	_ func(wrk, ctx, *v1.LeaseWorkRequest, ...opt) (*v1.LeaseWorkResponse, error)                                       = wrk.LeaseWork
	_ func(wrk, ctx, *v1.ReportWorkRequest, ...opt) (*v1.ReportWorkResponse, error)                                     = wrk.ReportWork
	_ func(wrk, ctx, *v1.AppendOutputRequest, ...opt) (*v1.AppendOutputResponse, error)                                 = wrk.AppendOutput
	_ func(wrk, ctx, ...opt) (grpc.BidiStreamingClient[v1.ReportWorkStreamRequest, v1.ReportWorkStreamResponse], error) = wrk.ReportWorkStream
)

// The generated method names are the paths the supervisor serves.
func TestFullMethodNames(t *testing.T) {
	want := map[string]string{
		v1.SupervisorService_Submit_FullMethodName:           "/latchwork.v1.SupervisorService/Submit",
		v1.SupervisorService_Subscribe_FullMethodName:        "/latchwork.v1.SupervisorService/Subscribe",
		v1.SupervisorService_GetJob_FullMethodName:           "/latchwork.v1.SupervisorService/GetJob",
		v1.SupervisorService_ListJobs_FullMethodName:         "/latchwork.v1.SupervisorService/ListJobs",
		v1.SupervisorService_ControlJobs_FullMethodName:      "/latchwork.v1.SupervisorService/ControlJobs",
		v1.SupervisorService_AddCallbacks_FullMethodName:     "/latchwork.v1.SupervisorService/AddCallbacks",
		v1.SupervisorService_ListCallbackRuns_FullMethodName: "/latchwork.v1.SupervisorService/ListCallbackRuns",
		v1.SupervisorService_ValidateTrigger_FullMethodName:  "/latchwork.v1.SupervisorService/ValidateTrigger",
		v1.SupervisorService_GetWorkOutput_FullMethodName:    "/latchwork.v1.SupervisorService/GetWorkOutput",
		v1.SupervisorService_ListHosts_FullMethodName:        "/latchwork.v1.SupervisorService/ListHosts",
		v1.SupervisorService_GetHost_FullMethodName:          "/latchwork.v1.SupervisorService/GetHost",
		v1.SupervisorService_ControlHosts_FullMethodName:     "/latchwork.v1.SupervisorService/ControlHosts",
		v1.SupervisorService_ModifyJobs_FullMethodName:       "/latchwork.v1.SupervisorService/ModifyJobs",
		v1.SupervisorService_ExplainJob_FullMethodName:       "/latchwork.v1.SupervisorService/ExplainJob",
		v1.SupervisorService_SummarizeFarm_FullMethodName:    "/latchwork.v1.SupervisorService/SummarizeFarm",
		v1.WorkerService_RegisterWorker_FullMethodName:       "/latchwork.v1.WorkerService/RegisterWorker",
		v1.WorkerService_Heartbeat_FullMethodName:            "/latchwork.v1.WorkerService/Heartbeat",
		v1.WorkerService_LeaseWork_FullMethodName:            "/latchwork.v1.WorkerService/LeaseWork",
		v1.WorkerService_ReportWork_FullMethodName:           "/latchwork.v1.WorkerService/ReportWork",
		v1.WorkerService_AppendOutput_FullMethodName:         "/latchwork.v1.WorkerService/AppendOutput",
		v1.WorkerService_ReportWorkStream_FullMethodName:     "/latchwork.v1.WorkerService/ReportWorkStream",
	}
	for got, expected := range want {
		if got != expected {
			t.Errorf("method path %q, want %q", got, expected)
		}
	}
	services := map[string]int{
		v1.SupervisorService_ServiceDesc.ServiceName: len(v1.SupervisorService_ServiceDesc.Methods) + len(v1.SupervisorService_ServiceDesc.Streams),
		v1.WorkerService_ServiceDesc.ServiceName:     len(v1.WorkerService_ServiceDesc.Methods) + len(v1.WorkerService_ServiceDesc.Streams),
	}
	if services["latchwork.v1.SupervisorService"] != 15 || services["latchwork.v1.WorkerService"] != 6 {
		t.Errorf("RPCs per service: %v; update this file and its coverage when the protos change", services)
	}
}

// The messages of issue 12's RPCs build as the proto says: hosts with their resources,
// global resources, host actions, and job changes whose absent fields stay unset.
func TestHostAndModifyMessages(t *testing.T) {
	priority := int32(10)
	requirements := "host.memory >= 16000"
	modify := &v1.ModifyJobsRequest{
		JobIds:  []int64{12},
		Changes: &v1.JobChanges{Priority: &priority, Requirements: &requirements, Data: map[string]string{"shot": "a"}, RemoveData: []string{"old"}},
		Reason:  "rush",
	}
	if modify.GetChanges().Cpus != nil || modify.GetChanges().GetPriority() != 10 {
		t.Errorf("JobChanges: absent fields must stay unset: %v", modify.GetChanges())
	}
	host := &v1.Host{
		Name:      "node07",
		State:     v1.HostState_HOST_STATE_UP,
		Resources: &v1.HostResources{Cores: 16, MemoryMb: 65536, Gpus: 2, Os: "linux", Arch: "x86_64"},
		Groups:    []string{"gpu"},
		Slots:     4,
	}
	hosts := &v1.ListHostsResponse{Hosts: []*v1.Host{host}, Resources: []*v1.GlobalResource{{Name: "nuke", Limit: 10}}}
	got := &v1.GetHostResponse{Host: host, Running: []string{"12:7"}}
	lock := &v1.ControlHostsRequest{Action: v1.HostAction_HOST_ACTION_LOCK, Names: []string{"node07"}}
	locked := &v1.ControlHostsResponse{Results: []*v1.HostControlResult{{Name: "node07", Changed: true}}}
	if hosts.GetHosts()[0].GetResources().GetMemoryMb() != 65536 || got.GetRunning()[0] != "12:7" ||
		lock.GetAction() != v1.HostAction_HOST_ACTION_LOCK || !locked.GetResults()[0].GetChanged() {
		t.Errorf("host messages do not hold what was set")
	}
	_ = &v1.ListHostsRequest{Names: []string{"node07"}}
	_ = &v1.GetHostRequest{Name: "node07"}
	_ = &v1.ModifyJobsResponse{ChangedJobIds: []int64{12}, Seq: 3}
}
