// Tests only, the fake CUDA driver (libcuda.so.1; fake_device.h): streams
// (work runs when submitted), stream capture into graphs, and graph replay.
#include "tests/cuda/fake_cuda/fake_state.h"

using namespace dlc::testing::fake_cuda;

namespace {

CUstream_st* findStream(CUstream s) {
  auto it = state().streams.find(s);
  return it == state().streams.end() ? nullptr : it->second.get();
}

}  // namespace

extern "C" {

CUresult cuStreamCreate(CUstream* phStream, unsigned int flags) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuStreamCreate")) return r;
  if (!phStream) return fail(CUDA_ERROR_INVALID_VALUE, "cuStreamCreate: null pointer");
  if (flags & ~unsigned(CU_STREAM_NON_BLOCKING)) return fail(CUDA_ERROR_INVALID_VALUE, "cuStreamCreate: bad flags");
  auto s = std::make_unique<CUstream_st>();
  *phStream = s.get();
  state().streams.emplace(s.get(), std::move(s));
  return CUDA_SUCCESS;
}

CUresult cuStreamDestroy_v2(CUstream stream) {
  auto lock = lockDevice();
  // dlc ignores the result (destructors): counted for the tests instead.
  return noteRelease("cuStreamDestroy_v2", [&]() -> CUresult {
    if (CUresult r = requireContext("cuStreamDestroy")) return r;
    if (!state().streams.erase(stream)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuStreamDestroy: unknown stream");
    return CUDA_SUCCESS;
  }());
}

CUresult cuStreamSynchronize(CUstream stream) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuStreamSynchronize")) return r;
  if (!validStream(stream)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuStreamSynchronize: unknown stream");
  if (CUstream_st* st = findStream(stream); st && st->capture) {
    if (st->capture->invalidatedBy.empty()) st->capture->invalidatedBy = "cuStreamSynchronize";
    return fail(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "cuStreamSynchronize of a capturing stream");
  }
  return forbidWhileCapturing("cuStreamSynchronize");  // work ran when it was submitted
}

CUresult cuStreamBeginCapture_v2(CUstream stream, CUstreamCaptureMode mode) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuStreamBeginCapture")) return r;
  if (!stream) return fail(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "cuStreamBeginCapture on the legacy stream");
  CUstream_st* st = findStream(stream);
  if (!st) return fail(CUDA_ERROR_INVALID_HANDLE, "cuStreamBeginCapture: unknown stream");
  if (st->capture) return fail(CUDA_ERROR_ILLEGAL_STATE, "cuStreamBeginCapture: the stream captures already");
  if (mode != CU_STREAM_CAPTURE_MODE_GLOBAL && mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
      mode != CU_STREAM_CAPTURE_MODE_RELAXED)
    return fail(CUDA_ERROR_INVALID_VALUE, "cuStreamBeginCapture: bad mode");
  st->capture = std::make_unique<CUstream_st::Capture>();
  st->capture->graph = std::make_unique<CUgraph_st>();
  st->capture->mode = mode;
  st->capture->thread = std::this_thread::get_id();
  return CUDA_SUCCESS;
}

CUresult cuStreamEndCapture(CUstream stream, CUgraph* phGraph) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuStreamEndCapture")) return r;
  CUstream_st* st = findStream(stream);
  if (!st) return fail(CUDA_ERROR_INVALID_HANDLE, "cuStreamEndCapture: unknown stream");
  if (!phGraph) return fail(CUDA_ERROR_INVALID_VALUE, "cuStreamEndCapture: null pointer");
  if (!st->capture) return fail(CUDA_ERROR_ILLEGAL_STATE, "cuStreamEndCapture: the stream does not capture");
  if (st->capture->mode != CU_STREAM_CAPTURE_MODE_RELAXED && st->capture->thread != std::this_thread::get_id())
    return fail(CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD, "cuStreamEndCapture from another thread");
  std::unique_ptr<CUstream_st::Capture> capture = std::move(st->capture);
  *phGraph = nullptr;
  if (!capture->invalidatedBy.empty())
    return fail(CUDA_ERROR_STREAM_CAPTURE_INVALIDATED,
                "cuStreamEndCapture: the capture was invalidated by " + capture->invalidatedBy);
  *phGraph = capture->graph.get();
  state().graphs.emplace(capture->graph.get(), std::move(capture->graph));
  return CUDA_SUCCESS;
}

CUresult cuGraphInstantiateWithFlags(CUgraphExec* phGraphExec, CUgraph hGraph, unsigned long long flags) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuGraphInstantiate")) return r;
  if (!state().graphs.count(hGraph)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuGraphInstantiate: unknown graph");
  if (!phGraphExec) return fail(CUDA_ERROR_INVALID_VALUE, "cuGraphInstantiate: null pointer");
  if (flags != 0) return fail(CUDA_ERROR_NOT_SUPPORTED, "cuGraphInstantiate: flags are not modelled by the fake");
  auto e = std::make_unique<CUgraphExec_st>();
  e->nodes = hGraph->nodes;
  *phGraphExec = e.get();
  state().execs.emplace(e.get(), std::move(e));
  return CUDA_SUCCESS;
}

CUresult cuGraphLaunch(CUgraphExec hGraphExec, CUstream stream) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuGraphLaunch")) return r;
  if (!state().execs.count(hGraphExec)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuGraphLaunch: unknown graph");
  if (!validStream(stream)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuGraphLaunch: unknown stream");
  if (CUstream_st* st = findStream(stream); st && st->capture)
    return fail(CUDA_ERROR_NOT_SUPPORTED, "cuGraphLaunch into a capturing stream is not modelled by the fake");
  const std::vector<CUgraph_st::Node>& nodes = hGraphExec->nodes;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (CUresult r = nodes[i].work())
      return fail(r, "graph node " + std::to_string(i) + " (" + nodes[i].what + "): " + lastDetail(r));
  return CUDA_SUCCESS;
}

CUresult cuGraphExecDestroy(CUgraphExec hGraphExec) {
  auto lock = lockDevice();
  // dlc ignores the result (destructors): counted for the tests instead.
  return noteRelease("cuGraphExecDestroy", [&]() -> CUresult {
    if (CUresult r = requireContext("cuGraphExecDestroy")) return r;
    if (!state().execs.erase(hGraphExec)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuGraphExecDestroy: unknown graph");
    return CUDA_SUCCESS;
  }());
}

CUresult cuGraphDestroy(CUgraph hGraph) {
  auto lock = lockDevice();
  // dlc ignores the result (destructors): counted for the tests instead.
  return noteRelease("cuGraphDestroy", [&]() -> CUresult {
    if (CUresult r = requireContext("cuGraphDestroy")) return r;
    if (!state().graphs.erase(hGraph)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuGraphDestroy: unknown graph");
    return CUDA_SUCCESS;
  }());
}

}  // extern "C"
