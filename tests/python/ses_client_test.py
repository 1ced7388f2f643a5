#!/usr/bin/python3
"""sesd from Python: stubs generated from proto/ses/v1/crypto.proto with
Debian's protoc and grpc_python_plugin, and nothing else from this
repository. Starts `sesd --dev` in a temp dir, talks to it over mutual TLS,
and checks every call, the standard health service, and that ciphertexts
cross between this client and `sesctl` working offline.

Run by CTest (python_client_test) as
  /usr/bin/python3 ses_client_test.py --bin-dir BUILD/bin --plugin-dir BUILD/plugins [unittest args]
with PYTHONPATH holding the generated stubs (BUILD/tests/python/gen).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

try:
    import grpc
    import google.protobuf  # noqa: F401  (the stubs need it; fail here, clearly)
except ImportError as error:
    sys.stderr.write(
        f"FAIL: {sys.executable} cannot import '{error.name}': run scripts/install-deps.sh "
        "(Debian's python3-grpcio and python3-protobuf for /usr/bin/python3)\n")
    sys.exit(1)

try:
    from ses.v1 import crypto_pb2, crypto_pb2_grpc
    import health_pb2
    import health_pb2_grpc
except ImportError as error:
    sys.stderr.write(
        f"FAIL: generated stubs not importable ({error}): build the target ses_python_client_stubs "
        "and put its gen/ directory on PYTHONPATH\n")
    sys.exit(1)

KEYRING = "dev"
CONTEXT = {"tenant": "acme", "purpose": "python-client-test"}
START_TIMEOUT_S = 60
CALL_TIMEOUT_S = 120
# What a decrypt says, as INVALID_ARGUMENT: a ciphertext that fails
# authentication, and an authentic one opened with another context (checked
# only after the header authenticates, so it tells nothing; docs/format.md).
AUTHENTICATION_FAILED = "authentication failed"
WRONG_CONTEXT = "encryption context does not match the one sealed in the message"
# Responses can exceed gRPC's 4 MiB default (payload plus envelope overhead).
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


class Sesd:
    """One `sesd --dev` process in its own temp dir, on ephemeral ports."""

    def __init__(self, bin_dir, plugin_dir):
        self.bin_dir = bin_dir
        self.plugin_dir = plugin_dir
        self.dir = tempfile.mkdtemp(prefix="ses-python-client-")
        self.log_path = os.path.join(self.dir, "sesd.log")
        self.proc = None
        self.endpoint = None

    def start(self):
        port_file = os.path.join(self.dir, "ports")
        env = dict(os.environ, SES_SERVER__LISTEN="127.0.0.1:0", SES_TELEMETRY__LISTEN="127.0.0.1:0",
                   SES_PLUGIN_DIR=self.plugin_dir)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [os.path.join(self.bin_dir, "sesd"), "--dev", "--dir", self.dir, "--port-file", port_file],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
        # sesd renames the port file into place once it listens; exiting first is a failure.
        deadline = time.monotonic() + START_TIMEOUT_S
        while not os.path.exists(port_file):
            if self.proc.poll() is not None:
                raise RuntimeError(f"sesd exited with status {self.proc.returncode} before listening")
            if time.monotonic() > deadline:
                raise RuntimeError(f"sesd wrote no port file within {START_TIMEOUT_S} s")
            time.sleep(0.02)
        with open(port_file) as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                if key == "grpc":
                    self.endpoint = value
        if not self.endpoint:
            raise RuntimeError("sesd's port file has no grpc= line")

    def tls_file(self, name):
        with open(os.path.join(self.dir, "tls", name), "rb") as f:
            return f.read()

    def channel(self):
        credentials = grpc.ssl_channel_credentials(root_certificates=self.tls_file("ca.pem"),
                                                   private_key=self.tls_file("client-key.pem"),
                                                   certificate_chain=self.tls_file("client.pem"))
        return grpc.secure_channel(self.endpoint, credentials, options=CHANNEL_OPTIONS)

    def sesctl_offline(self, *args):
        """Runs sesctl on sesd's own config file, with no server involved."""
        env = dict(os.environ, SES_PLUGIN_DIR=self.plugin_dir)
        return subprocess.run([os.path.join(self.bin_dir, "sesctl"), "--config",
                               os.path.join(self.dir, "sesd.conf"), *args],
                              stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=CALL_TIMEOUT_S)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError as error:
            return f"(no log: {error})"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


def context_flags(context):
    flags = []
    for key, value in sorted(context.items()):
        flags += ["--context", f"{key}={value}"]
    return flags


class SesClientTest(unittest.TestCase):
    sesd = None  # set by main() before the tests run

    @classmethod
    def setUpClass(cls):
        cls.channel = cls.sesd.channel()
        grpc.channel_ready_future(cls.channel).result(timeout=START_TIMEOUT_S)
        cls.crypto = crypto_pb2_grpc.CryptoStub(cls.channel)
        cls.diagnostics = crypto_pb2_grpc.DiagnosticsStub(cls.channel)
        cls.health = health_pb2_grpc.HealthStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()

    def encrypt(self, plaintext, context=CONTEXT, keyring=KEYRING):
        request = crypto_pb2.EncryptRequest(keyring=keyring, context=context, plaintext=plaintext)
        return self.crypto.Encrypt(request, timeout=CALL_TIMEOUT_S).ciphertext

    def decrypt(self, ciphertext, context=CONTEXT):
        request = crypto_pb2.DecryptRequest(ciphertext=ciphertext, context=context)
        return self.crypto.Decrypt(request, timeout=CALL_TIMEOUT_S).plaintext

    def assertRpcError(self, code, call, *args, details=None):
        with self.assertRaises(grpc.RpcError) as raised:
            call(*args)
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        if details is not None:
            self.assertEqual(raised.exception.details(), details)
        return raised.exception

    def test_encrypt_decrypt_round_trip(self):
        for size in (0, 1024, 1 << 20):
            with self.subTest(size=size):
                plaintext = os.urandom(size)
                ciphertext = self.encrypt(plaintext)
                self.assertGreater(len(ciphertext), size)
                if size:
                    self.assertNotIn(plaintext, ciphertext)
                self.assertEqual(self.decrypt(ciphertext), plaintext)

    def test_wrong_context_or_tampering_is_invalid_argument(self):
        ciphertext = self.encrypt(b"sealed for acme")
        for context in ({"tenant": "other", "purpose": "python-client-test"}, {}, {**CONTEXT, "extra": "x"}):
            with self.subTest(context=context):
                self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT, self.decrypt, ciphertext, context,
                                    details=WRONG_CONTEXT)
        tampered = bytearray(ciphertext)
        tampered[-1] ^= 0x01
        self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT, self.decrypt, bytes(tampered),
                            details=AUTHENTICATION_FAILED)

    def test_unknown_keyring_is_not_found(self):
        error = self.assertRpcError(grpc.StatusCode.NOT_FOUND, self.encrypt, b"x", CONTEXT, "no-such-keyring")
        self.assertIn("no-such-keyring", error.details())

    def test_batch_reports_a_bad_item_on_its_own(self):
        plaintexts = [os.urandom(n) for n in (0, 17, 4096)]
        encrypted = self.crypto.BatchEncrypt(crypto_pb2.BatchEncryptRequest(
            keyring=KEYRING, items=[crypto_pb2.BatchEncryptItem(plaintext=p, context=CONTEXT) for p in plaintexts]),
            timeout=CALL_TIMEOUT_S)
        self.assertEqual(len(encrypted.results), len(plaintexts))
        for result in encrypted.results:
            self.assertEqual(result.WhichOneof("result"), "data", result.error.message)

        items = [crypto_pb2.BatchDecryptItem(ciphertext=r.data, context=CONTEXT) for r in encrypted.results]
        items[1].context["tenant"] = "other"  # the one bad item
        decrypted = self.crypto.BatchDecrypt(crypto_pb2.BatchDecryptRequest(items=items), timeout=CALL_TIMEOUT_S)
        self.assertEqual(len(decrypted.results), len(plaintexts))
        for i, (result, plaintext) in enumerate(zip(decrypted.results, plaintexts)):
            with self.subTest(item=i):
                if i == 1:
                    self.assertEqual(result.WhichOneof("result"), "error")
                    self.assertEqual(result.error.code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
                    self.assertEqual(result.error.message, WRONG_CONTEXT)
                else:
                    self.assertEqual(result.WhichOneof("result"), "data", result.error.message)
                    self.assertEqual(result.data, plaintext)

    def test_data_key_round_trip(self):
        generated = self.crypto.GenerateDataKey(crypto_pb2.GenerateDataKeyRequest(keyring=KEYRING, context=CONTEXT),
                                                timeout=CALL_TIMEOUT_S)
        self.assertEqual(len(generated.data_key), 32)
        self.assertTrue(generated.encrypted_key)
        self.assertNotIn(generated.data_key, generated.encrypted_key)
        opened = self.crypto.DecryptDataKey(
            crypto_pb2.DecryptDataKeyRequest(encrypted_key=generated.encrypted_key, context=CONTEXT),
            timeout=CALL_TIMEOUT_S)
        self.assertEqual(opened.data_key, generated.data_key)
        self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT, self.crypto.DecryptDataKey,
                            crypto_pb2.DecryptDataKeyRequest(encrypted_key=generated.encrypted_key,
                                                             context={"tenant": "other"}),
                            details=WRONG_CONTEXT)

    def test_stream_round_trip(self):
        plaintext = os.urandom(3 * (1 << 20) + 12345)  # a few MiB, not a multiple of any frame size

        def encrypt_requests(chunk):
            yield crypto_pb2.EncryptStreamRequest(start=crypto_pb2.EncryptStreamStart(keyring=KEYRING, context=CONTEXT))
            for at in range(0, len(plaintext), chunk):
                yield crypto_pb2.EncryptStreamRequest(data=plaintext[at:at + chunk])

        ciphertext = b"".join(c.data for c in self.crypto.EncryptStream(encrypt_requests(64 * 1024),
                                                                         timeout=CALL_TIMEOUT_S))
        self.assertGreater(len(ciphertext), len(plaintext))

        def decrypt_requests(chunk, context=CONTEXT):
            yield crypto_pb2.DecryptStreamRequest(start=crypto_pb2.DecryptStreamStart(context=context))
            for at in range(0, len(ciphertext), chunk):
                yield crypto_pb2.DecryptStreamRequest(data=ciphertext[at:at + chunk])

        # A different split from the encrypt side: the server must not care.
        output = b"".join(c.data for c in self.crypto.DecryptStream(decrypt_requests(100003), timeout=CALL_TIMEOUT_S))
        self.assertEqual(len(output), len(plaintext))
        self.assertEqual(output, plaintext)

        def consume(requests):
            for _ in self.crypto.DecryptStream(requests, timeout=CALL_TIMEOUT_S):
                pass

        self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT, consume,
                            decrypt_requests(1 << 20, {"tenant": "other"}), details=WRONG_CONTEXT)
        # Parameters must come first.
        self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT, consume,
                            iter([crypto_pb2.DecryptStreamRequest(data=ciphertext[:100])]))

    def test_reencrypt_keeps_it_decryptable(self):
        plaintext = os.urandom(5000)
        ciphertext = self.encrypt(plaintext)
        rewrapped = self.crypto.ReEncrypt(
            crypto_pb2.ReEncryptRequest(ciphertext=ciphertext, context=CONTEXT, keyring=KEYRING),
            timeout=CALL_TIMEOUT_S).ciphertext
        self.assertTrue(rewrapped)
        self.assertEqual(self.decrypt(rewrapped), plaintext)
        self.assertEqual(self.decrypt(ciphertext), plaintext)
        # The code only: ReEncrypt words a wrong context as AUTHENTICATION_FAILED
        # today, unlike Decrypt's WRONG_CONTEXT; either tells the caller nothing new.
        error = self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT, self.crypto.ReEncrypt,
                                    crypto_pb2.ReEncryptRequest(ciphertext=ciphertext, context={}, keyring=KEYRING))
        self.assertIn(error.details(), (AUTHENTICATION_FAILED, WRONG_CONTEXT))

    def test_diagnostics_echo(self):
        for payload in (b"", os.urandom(4096)):
            with self.subTest(size=len(payload)):
                reply = self.diagnostics.Echo(crypto_pb2.EchoRequest(payload=payload), timeout=CALL_TIMEOUT_S)
                self.assertEqual(reply.payload, payload)

    def test_health_serving_once_ready(self):
        serving = health_pb2.HealthCheckResponse.SERVING
        for service in ("", "ses.v1.Crypto"):
            with self.subTest(service=service):
                # Readiness comes from sesd's first probe; wait for it, with a deadline.
                deadline = time.monotonic() + START_TIMEOUT_S
                status = None
                while status != serving and time.monotonic() < deadline:
                    status = self.health.Check(health_pb2.HealthCheckRequest(service=service),
                                               timeout=CALL_TIMEOUT_S).status
                    if status != serving:
                        time.sleep(0.05)
                self.assertEqual(status, serving, f"health of '{service}' never became SERVING")
        self.assertRpcError(grpc.StatusCode.NOT_FOUND, self.health.Check,
                            health_pb2.HealthCheckRequest(service="no.such.Service"))

    def test_ciphertexts_cross_with_offline_sesctl(self):
        context = {"app": "interop", "row": "42"}
        work = tempfile.mkdtemp(prefix="interop-", dir=self.sesd.dir)
        path = lambda name: os.path.join(work, name)  # noqa: E731

        # Python seals, sesctl opens from the config file alone.
        plaintext = os.urandom(70000)
        with open(path("py.ses"), "wb") as f:
            f.write(self.encrypt(plaintext, context))
        run = self.sesd.sesctl_offline("decrypt", *context_flags(context), "--in", path("py.ses"),
                                       "--out", path("py.out"))
        self.assertEqual(run.returncode, 0, run.stderr.decode(errors="replace"))
        with open(path("py.out"), "rb") as f:
            self.assertEqual(f.read(), plaintext)
        run = self.sesd.sesctl_offline("decrypt", "--context", "app=interop", "--in", path("py.ses"),
                                       "--out", path("wrong.out"))
        self.assertNotEqual(run.returncode, 0)
        self.assertIn(WRONG_CONTEXT.encode(), run.stderr)
        self.assertFalse(os.path.exists(path("wrong.out")), "sesctl left output of a failed decrypt")

        # sesctl seals offline, Python opens through sesd.
        with open(path("cli.txt"), "wb") as f:
            f.write(plaintext[:999])
        run = self.sesd.sesctl_offline("encrypt", "--keyring", KEYRING, *context_flags(context),
                                       "--in", path("cli.txt"), "--out", path("cli.ses"))
        self.assertEqual(run.returncode, 0, run.stderr.decode(errors="replace"))
        with open(path("cli.ses"), "rb") as f:
            self.assertEqual(self.decrypt(f.read(), context), plaintext[:999])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", required=True, help="directory with sesd and sesctl")
    parser.add_argument("--plugin-dir", required=True, help="directory with the ses_*.so plugins")
    args, unittest_args = parser.parse_known_args()

    sesd = Sesd(os.path.abspath(args.bin_dir), os.path.abspath(args.plugin_dir))
    ok = False
    try:
        try:
            sesd.start()
        except Exception as error:  # any start failure ends the run with sesd's log
            print(f"FAIL: {error}", file=sys.stderr)
        else:
            SesClientTest.sesd = sesd
            program = unittest.main(argv=[sys.argv[0], *unittest_args], exit=False, verbosity=2)
            ok = program.result.wasSuccessful() and program.result.testsRun > 0
        if not ok:
            print(f"----- sesd log ({sesd.log_path}) -----\n{sesd.log()}----- end of sesd log -----",
                  file=sys.stderr)
    finally:
        sesd.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
