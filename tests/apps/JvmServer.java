// SPDX-License-Identifier: GPL-2.0-only
// A JVM HTTP server (com.sun.net.httpserver) with many threads and a large
// heap: at start it fills 256 MiB of arrays with a known pattern; GET /
// answers "sum S requests N", S the heap's checksum computed again, so
// that a client sees whether the heap came back whole.
//
// usage: java JvmServer PORT
import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

public class JvmServer {
    static final long[][] heap = new long[256][];
    static final AtomicLong requests = new AtomicLong();

    static long checksum() {
        long s = 0;
        for (long[] a : heap)
            for (long v : a)
                s = s * 31 + v;
        return s;
    }

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < heap.length; i++) {
            heap[i] = new long[1 << 17]; // 1 MiB each
            for (int j = 0; j < heap[i].length; j++)
                heap[i][j] = (long) i * 1_000_003L + j;
        }
        HttpServer srv = HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[0])), 64);
        srv.setExecutor(Executors.newFixedThreadPool(32));
        srv.createContext("/", ex -> {
            byte[] body = ("sum " + checksum() + " requests " + requests.incrementAndGet() + "\n")
                    .getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(body);
            }
        });
        srv.start();
        System.out.println("ready, sum " + checksum());
    }
}
