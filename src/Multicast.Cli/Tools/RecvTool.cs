using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using HdrHistogram;
using Multicast.Linux.Sockets;

namespace Multicast.Cli.Tools;

/// <summary>
/// `multicast tool recv`: an ordinary multicast receiver. It joins the group, checks every datagram against the
/// sender's deterministic payload, and prints exactly two kinds of stdout lines: "listening ..." once the socket is
/// bound and joined (harnesses wait for it), and one JSON result line at exit.
/// </summary>
internal static class RecvTool
{
    public const string Usage =
        "multicast tool recv --port P [--group G] [--bind group|any] [--interface-ip A] [--no-join]\n" +
        "                    [--expect N] [--first-seq F=0] [--timeout-ms T=30000] [--idle-ms I=2000] [--linger-ms L=300]\n" +
        "                    [--latency-log FILE] [--arrival-log FILE]\n" +
        "  prints 'listening GROUP:PORT bind=...' when ready, then one JSON line with the results at exit.\n" +
        "  Exits when N distinct datagrams arrived (after lingering L ms to catch duplicates), after I ms without\n" +
        "  datagrams, after T ms in total, or on SIGINT/SIGTERM.\n" +
        "  --first-seq: this run's sequence numbers start at F; datagrams below F (a previous run's, still queued) are\n" +
        "  counted as stale and measured nowhere, and with --expect so are those from F+N on.\n" +
        "  --latency-log (needs --expect): per sequence number F..F+N-1, one-way latency in ns (64-bit little-endian, 0 = not received).\n" +
        "  --arrival-log (needs --expect; Linux): the same, to the kernel's receive timestamp (SO_TIMESTAMPNS: when the\n" +
        "  datagram reached this host's interface) instead of to when this receiver read it.";

    private const int SourceSlots = 16;
    // A foreign or corrupt header could claim any sequence; cap the bitmap so it cannot exhaust memory.
    private const ulong MaxTrackedSequence = 1UL << 28;

    public static int Run(string[] argv)
    {
        var a = new ToolArgs(argv, new HashSet<string> { "no-join" });
        IPAddress? group = a.Address("group");
        int port = (int)a.Long("port", -1, 1, 65535);
        if (port < 0) throw new UsageException("option --port is required");
        string bind = a.String("bind") ?? "group";
        if (bind is not ("group" or "any")) throw new UsageException("option --bind must be 'group' or 'any'");
        IPAddress? ifaceIp = a.Address("interface-ip");
        bool join = !a.Has("no-join");
        long expect = a.Long("expect", 0, 0, (long)MaxTrackedSequence);
        ulong firstSeq = (ulong)a.Long("first-seq", 0, 0);
        long timeoutMs = a.Long("timeout-ms", 30_000, 1);
        long idleMs = a.Long("idle-ms", 2_000, 1);
        long lingerMs = a.Long("linger-ms", 300, 0);
        string? latencyLogPath = a.String("latency-log");
        string? arrivalLogPath = a.String("arrival-log");
        a.RejectUnknown();
        if (latencyLogPath is not null && (expect == 0 || expect > 1 << 26))
            throw new UsageException("option --latency-log needs --expect of at most 67108864");
        if (arrivalLogPath is not null && (expect == 0 || expect > 1 << 26))
            throw new UsageException("option --arrival-log needs --expect of at most 67108864");
        if (arrivalLogPath is not null && !OperatingSystem.IsLinux())
            throw new UsageException("option --arrival-log needs Linux (SO_TIMESTAMPNS)");
        // Opened before receiving, so a path that cannot be written fails at once, not after the run.
        using FileStream? latencyLog = latencyLogPath is null ? null : new FileStream(latencyLogPath, FileMode.Create, FileAccess.Write);
        using FileStream? arrivalLog = arrivalLogPath is null ? null : new FileStream(arrivalLogPath, FileMode.Create, FileAccess.Write);
        if (group is null && (join || bind == "group")) throw new UsageException("option --group is required unless --bind any --no-join");
        if (group is not null && (group.GetAddressBytes()[0] & 0xF0) != 0xE0 && join)
            throw new UsageException($"--group {group} is not a multicast address (use --no-join for unicast)");

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        // Several receivers (group-bound and wildcard-bound) may share the port on one host, as real apps do.
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        GrowReceiveBuffer(socket, 8 << 20);
        bool wildcard = bind == "any";
        if (wildcard) socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
        socket.Bind(new IPEndPoint(wildcard ? IPAddress.Any : group!, port));
        if (join)
        {
            MulticastOption membership = ifaceIp is null ? new MulticastOption(group!) : new MulticastOption(group!, ifaceIp);
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, membership);
        }
        socket.ReceiveTimeout = 100;
        // On Linux every datagram also carries the kernel's receive time, which splits its latency into the path to
        // this host and this host's own wait; elsewhere the managed receive (no such split).
        using TimestampedReceiver? stamped = OperatingSystem.IsLinux() ? new TimestampedReceiver(socket.Handle) : null;

        s_stop = false;
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, StopOnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, StopOnSignal);
        // SIGUSR1 prints a progress line (what arrived so far) and keeps receiving: the bench reads one per trial.
        s_report = 0;
        using var sigusr1 = OperatingSystem.IsLinux()
            ? PosixSignalRegistration.Create((PosixSignal)10, c => { c.Cancel = true; Interlocked.Increment(ref s_report); })
            : null;
        int reported = 0;

        Console.Out.WriteLine($"listening {(group?.ToString() ?? "0.0.0.0")}:{port} bind={bind}");

        var stats = new Stats(expect, firstSeq, latencyLog is not null, arrivalLog is not null);
        byte[] buffer = GC.AllocateUninitializedArray<byte>(Payload.MaxLength + 1, pinned: true);
        byte[] scratch = GC.AllocateUninitializedArray<byte>(Payload.MaxLength, pinned: true);
        var from = new SocketAddress(AddressFamily.InterNetwork);
        EndPoint anyEndPoint = new IPEndPoint(IPAddress.Any, 0);
        uint groupKey = group is null ? 0 : BinaryPrimitives.ReadUInt32BigEndian(group.GetAddressBytes());

        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        long startTs = Stopwatch.GetTimestamp();
        long lastTs = startTs;
        long completeTs = 0;
        TimeSpan? firstCpu = null;
        string reason = "timeout";
        while (true)
        {
            long nowTs = Stopwatch.GetTimestamp();
            if (s_stop) { reason = "signal"; break; }
            int reports = Volatile.Read(ref s_report);
            if (reports != reported)
            {
                reported = reports;
                Console.Out.WriteLine($"{{\"report\":{reports},\"received\":{stats.Received},\"unique\":{stats.Unique},\"duplicates\":{stats.Duplicates}}}");
            }
            if (Ms(nowTs - startTs) >= timeoutMs) { reason = "timeout"; break; }
            if (completeTs != 0 && Ms(nowTs - completeTs) >= lingerMs) { reason = "expect"; break; }
            if (completeTs == 0 && Ms(nowTs - lastTs) >= idleMs) { reason = "idle"; break; }

            int n;
            uint srcIp;
            int srcPort;
            long arrivalNs = 0;
            if (stamped is not null)
            {
                if (!stamped.Receive(buffer, out ReceivedDatagram d)) continue;
                n = d.Length;
                srcIp = d.SourceAddress;
                srcPort = d.SourcePort;
                arrivalNs = d.KernelReceiveNs;
                if (wildcard) stats.CountDestination(d.DestinationAddress, groupKey);
            }
            else
            {
                try
                {
                    if (wildcard)
                    {
                        // The destination address tells a restored multicast datagram from a unicast copy; .NET only
                        // exposes it through this overload, which allocates an EndPoint per datagram.
                        SocketFlags flags = SocketFlags.None;
                        EndPoint remote = anyEndPoint;
                        n = socket.ReceiveMessageFrom(buffer, ref flags, ref remote, out IPPacketInformation info);
                        var ep = (IPEndPoint)remote;
                        srcIp = BinaryPrimitives.ReadUInt32BigEndian(ep.Address.GetAddressBytes());
                        srcPort = ep.Port;
                        stats.CountDestination(BinaryPrimitives.ReadUInt32BigEndian(info.Address.GetAddressBytes()), groupKey);
                    }
                    else
                    {
                        n = socket.ReceiveFrom(buffer, SocketFlags.None, from);
                        Span<byte> sa = from.Buffer.Span;
                        srcPort = (sa[2] << 8) | sa[3];
                        srcIp = BinaryPrimitives.ReadUInt32BigEndian(sa[4..]);
                    }
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.Interrupted)
                {
                    continue;
                }
            }
            long nowNs = WallClock.NowNs();
            lastTs = Stopwatch.GetTimestamp();
            if (firstCpu is null) firstCpu = Environment.CpuUsage.TotalTime; // once: CPU from the first datagram on
            stats.Record(buffer.AsSpan(0, n), scratch, srcIp, srcPort, nowNs, arrivalNs);
            if (completeTs == 0 && expect > 0 && stats.Unique >= expect) completeTs = lastTs;
        }

        long loopAllocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        if (latencyLog is not null) stats.WriteLatencyLog(latencyLog);
        if (arrivalLog is not null) stats.WriteArrivalLog(arrivalLog);
        JsonObject result = stats.ToJson(group, port, bind, reason, Ms(Stopwatch.GetTimestamp() - startTs));
        // Shows the hot loop stays allocation-free (off Linux, bind=any pays one EndPoint per datagram for the destination address).
        result["loop_allocated_bytes"] = loopAllocated;
        // From the first datagram to exit (the linger after the last one blocks in receive and costs next to nothing).
        result["cpu_s"] = firstCpu is TimeSpan c ? Math.Round((Environment.CpuUsage.TotalTime - c).TotalSeconds, 3) : 0;
        Console.Out.WriteLine(result.ToJsonString());
        return 0;
    }

    private static volatile bool s_stop;
    private static int s_report;

    private static void StopOnSignal(PosixSignalContext context)
    {
        // Finish the loop and print the results instead of dying with them.
        context.Cancel = true;
        s_stop = true;
    }

    private static long Ms(long stopwatchTicks) => stopwatchTicks * 1000 / Stopwatch.Frequency;

    private static void GrowReceiveBuffer(Socket socket, int bytes)
    {
        // SO_RCVBUFFORCE (root) ignores net.core.rmem_max; at 5,000 datagrams/s on a busy 2-core box the default
        // ~200 KB buffer overflows while the receiver waits for a CPU, which would look like proxy loss.
        const int SolSocket = 1, SoRcvBufForce = 33;
        try
        {
            if (OperatingSystem.IsLinux())
            {
                Span<byte> v = stackalloc byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(v, bytes);
                socket.SetRawSocketOption(SolSocket, SoRcvBufForce, v);
                return;
            }
        }
        catch (SocketException) { }
        try { socket.ReceiveBufferSize = bytes; } catch (SocketException) { }
    }

    private sealed class Stats(long expect, ulong firstSeq, bool logLatency, bool logArrival)
    {
        private readonly long[]? _latencyBySeq = logLatency ? new long[expect] : null;
        private readonly long[]? _arrivalBySeq = logArrival ? new long[expect] : null;

        public void WriteLatencyLog(Stream log) => ToolLog.Write(log, _latencyBySeq);

        public void WriteArrivalLog(Stream log) => ToolLog.Write(log, _arrivalBySeq);

        private ulong[] _seen = new ulong[Math.Max(1, (int)((expect + 63) / 64))];
        private readonly uint[] _srcIp = new uint[SourceSlots];
        private readonly int[] _srcPort = new int[SourceSlots];
        private readonly long[] _srcCount = new long[SourceSlots];
        private int _sources;
        private readonly LongHistogram _latency = new(1, 60_000_000_000L, 3);
        private readonly LongHistogram _arrival = new(1, 60_000_000_000L, 3);
        private ulong _highest;
        private bool _any;

        public long Received, Unique, Duplicates, Corrupt, Foreign, Reordered, OutOfRange, Bytes, OtherSources;
        public long ToGroup, ToOtherGroup, ToUnicast;
        public long Unexpected; // valid datagrams at or after first-seq + expect
        public long Stale; // valid datagrams before first-seq: a previous run's, drained late

        public void CountDestination(uint destination, uint groupKey)
        {
            if (destination == groupKey && groupKey != 0) ToGroup++;
            else if ((destination >> 28) == 0xE) ToOtherGroup++;
            else ToUnicast++;
        }

        /// <param name="arrivalNs">The kernel's receive timestamp, 0 when there is none.</param>
        public void Record(ReadOnlySpan<byte> datagram, Span<byte> scratch, uint srcIp, int srcPort, long nowNs, long arrivalNs)
        {
            Received++;
            Bytes += datagram.Length;
            CountSource(srcIp, srcPort);
            switch (Payload.Check(datagram, scratch, out ulong seq, out long sentNs))
            {
                case PayloadCheck.Foreign: Foreign++; return;
                case PayloadCheck.Corrupt: Corrupt++; return;
            }
            if (seq < firstSeq) { Stale++; return; }
            ulong index = seq - firstSeq;
            if (index >= MaxTrackedSequence) { OutOfRange++; return; }
            bool inRun = expect == 0 || index < (ulong)expect;
            if (!inRun) Unexpected++;
            int word = (int)(index >> 6);
            if (word >= _seen.Length) Array.Resize(ref _seen, Math.Max(word + 1, _seen.Length * 2));
            ulong bit = 1UL << (int)(index & 63);
            if ((_seen[word] & bit) != 0) { Duplicates++; return; }
            _seen[word] |= bit;
            if (_any && index < _highest) Reordered++;
            if (!_any || index > _highest) _highest = index;
            _any = true;
            // Only this run's datagrams are timed: one sent after it (or before, above) says nothing about its latency.
            if (!inRun) return;
            Unique++;
            long latency = nowNs - sentNs;
            if (_latencyBySeq is not null && index < (ulong)_latencyBySeq.Length) _latencyBySeq[index] = Math.Max(1, latency);
            if (latency >= 1 && latency < 60_000_000_000L) _latency.RecordValue(latency);
            if (arrivalNs == 0) return;
            long arrival = arrivalNs - sentNs;
            if (_arrivalBySeq is not null && index < (ulong)_arrivalBySeq.Length) _arrivalBySeq[index] = Math.Max(1, arrival);
            if (arrival >= 1 && arrival < 60_000_000_000L) _arrival.RecordValue(arrival);
        }

        private void CountSource(uint ip, int port)
        {
            for (int i = 0; i < _sources; i++)
                if (_srcIp[i] == ip && _srcPort[i] == port) { _srcCount[i]++; return; }
            if (_sources == SourceSlots) { OtherSources++; return; }
            _srcIp[_sources] = ip; _srcPort[_sources] = port; _srcCount[_sources] = 1; _sources++;
        }

        /// <summary>Missing sequence numbers and the number of runs they form, over [F, F+expect) or [F, highest].</summary>
        private (long lost, long gaps) Missing()
        {
            ulong end = expect > 0 ? (ulong)expect : (_any ? _highest + 1 : 0);
            long lost = 0, gaps = 0;
            bool inGap = false;
            for (ulong s = 0; s < end; s++)
            {
                int word = (int)(s >> 6);
                bool seen = word < _seen.Length && (_seen[word] & (1UL << (int)(s & 63))) != 0;
                if (!seen) { lost++; if (!inGap) gaps++; }
                inGap = !seen;
            }
            return (lost, gaps);
        }

        public JsonObject ToJson(IPAddress? group, int port, string bind, string reason, long elapsedMs)
        {
            (long lost, long gaps) = Missing();
            var sources = new JsonArray();
            for (int i = 0; i < _sources; i++)
            {
                var ip = new IPAddress(BinaryPrimitives.ReverseEndianness(_srcIp[i]));
                sources.Add(new JsonObject { ["address"] = $"{ip}:{_srcPort[i]}", ["count"] = _srcCount[i] });
            }
            var o = new JsonObject
            {
                ["tool"] = "recv",
                ["group"] = group?.ToString(),
                ["port"] = port,
                ["bind"] = bind,
                ["reason"] = reason,
                ["complete"] = expect > 0 && Unique >= expect,
                ["expect"] = expect,
                ["received"] = Received,
                ["unique"] = Unique,
                ["duplicates"] = Duplicates,
                ["lost"] = lost,
                ["gaps"] = gaps,
                ["reordered"] = Reordered,
                ["corrupt"] = Corrupt,
                ["foreign"] = Foreign,
                ["first_seq"] = firstSeq,
                ["unexpected_seq"] = Unexpected,
                ["stale_seq"] = Stale,
                ["out_of_range"] = OutOfRange,
                ["bytes"] = Bytes,
                ["sources"] = sources,
                ["other_sources"] = OtherSources,
                ["elapsed_ms"] = elapsedMs,
            };
            if (bind == "any")
                o["destinations"] = new JsonObject { ["group"] = ToGroup, ["other_group"] = ToOtherGroup, ["unicast"] = ToUnicast };
            if (_latency.TotalCount > 0) o["latency_us"] = Percentiles(_latency);
            // Send stamp to the kernel's receive timestamp: the path to this host, without this host's own wait.
            if (_arrival.TotalCount > 0) o["arrival_latency_us"] = Percentiles(_arrival);
            return o;
        }

        private static JsonObject Percentiles(LongHistogram h) => new()
        {
            ["count"] = h.TotalCount,
            ["p50"] = Us(h.GetValueAtPercentile(50)),
            ["p90"] = Us(h.GetValueAtPercentile(90)),
            ["p99"] = Us(h.GetValueAtPercentile(99)),
            ["p999"] = Us(h.GetValueAtPercentile(99.9)),
            ["max"] = Us(h.GetMaxValue()),
        };

        private static double Us(long ns) => Math.Round(ns / 1000.0, 1);
    }
}
