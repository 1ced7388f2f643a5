// Client::EncryptStream and DecryptStream over the sync bidi API.
//
// Input and output are not one-to-one (the server answers per frame, not per
// request), so strictly alternating Write and Read could deadlock. Instead a
// helper thread writes while the calling thread reads: gRPC allows one reader
// and one writer at a time on a stream. Each Write blocks until gRPC has taken
// the message under flow control, so at most one chunk is in flight from
// here and memory stays bounded.
#include <mutex>
#include <thread>

#include "client_impl.h"
#include "ses/client/channel.h"

namespace ses::client {
namespace {

template <typename Request>
Status RunStream(std::string_view server, grpc::ClientContext& cc,
                 grpc::ClientReaderWriter<Request, v1::StreamChunk>& rw, const Request& start,
                 const ByteSource& source, const ByteSink& sink) {
  Status source_error;
  std::thread writer([&] {
    if (!rw.Write(start)) return;  // the call already ended; Finish says why
    Request req;
    std::string* data = req.mutable_data();
    for (;;) {
      data->resize(kStreamChunkSize);
      auto n = source(std::span<uint8_t>(reinterpret_cast<uint8_t*>(data->data()), data->size()));
      if (!n.ok()) {
        source_error = n.status();
        cc.TryCancel();
        return;
      }
      if (*n == 0) break;
      if (*n > kStreamChunkSize) {
        source_error = InternalError("stream source returned more bytes than asked for");
        cc.TryCancel();
        return;
      }
      data->resize(*n);
      if (!rw.Write(req)) return;
    }
    rw.WritesDone();
  });

  Status sink_error;
  v1::StreamChunk chunk;
  while (rw.Read(&chunk)) {
    if (!sink_error.ok()) continue;  // draining after cancel
    sink_error = sink(internal::AsBytes(chunk.data()));
    if (!sink_error.ok()) cc.TryCancel();
  }
  writer.join();
  grpc::Status status = rw.Finish();
  // The local cause explains a cancel better than CANCELLED does.
  if (!source_error.ok()) return source_error;
  if (!sink_error.ok()) return sink_error;
  return FromGrpcStatus(status, server);
}

}  // namespace

Status Client::EncryptStream(std::string_view keyring, const EncryptionContext& context, const ByteSource& source,
                             const ByteSink& sink) {
  grpc::ClientContext cc;
  auto rw = impl_->crypto->EncryptStream(&cc);
  v1::EncryptStreamRequest start;
  start.mutable_start()->set_keyring(std::string(keyring));
  internal::SetContext(start.mutable_start()->mutable_context(), context);
  return RunStream(impl_->options.server, cc, *rw, start, source, sink);
}

Status Client::DecryptStream(const EncryptionContext& context, const ByteSource& source, const ByteSink& sink) {
  grpc::ClientContext cc;
  auto rw = impl_->crypto->DecryptStream(&cc);
  v1::DecryptStreamRequest start;
  internal::SetContext(start.mutable_start()->mutable_context(), context);
  return RunStream(impl_->options.server, cc, *rw, start, source, sink);
}

}  // namespace ses::client
