using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Multicast.Cli.Tools;

/// <summary>
/// `multicast tool send`: an ordinary multicast application (plain UDP socket, nothing proxy-aware) that sends
/// numbered, timestamped, self-verifying datagrams at a paced rate and prints a one-line JSON summary.
/// </summary>
internal static class SendTool
{
    public const string Usage =
        "multicast tool send --group G --port P [--count N=10] [--rate PER_SEC=0 (unpaced)] [--size BYTES=64]\n" +
        "                    [--interface-ip A] [--ttl T=1] [--source-port SP] [--first-seq S=0] [--lateness-log FILE] [--cpu LIST]\n" +
        "  --lateness-log: per datagram, how far behind its schedule it was sent (ns, 64-bit little-endian; paced only)\n" +
        "  --cpu: pin the sending thread to these CPUs (Linux; as multis_admin -R --cpu)";

    // A log holds one 8-byte value per datagram, kept in memory until the end: cap it at 512 MiB.
    private const long MaxLoggedCount = 1 << 26;

    /// <summary>A publisher pinned to a core of its own, as a latency-minded user would run one.</summary>
    private static void PinSendingThread(string cpuList)
    {
        Multicast.Linux.DataPlaneCpus cpus = Daemon.DaemonOptions.ParseCpus(cpuList);
        cpus.EnsureAvailable();
        if (cpus.ApplyToCurrentThread() is int errno and not 0)
            throw new InvalidOperationException($"--cpu {cpus}: sched_setaffinity failed (errno {errno})");
    }

    public static int Run(string[] argv)
    {
        var a = new ToolArgs(argv, new HashSet<string>());
        IPAddress group = a.RequiredAddress("group");
        int port = (int)a.Long("port", -1, 1, 65535);
        if (port < 0) throw new UsageException("option --port is required");
        long count = a.Long("count", 10, 0);
        double rate = a.Double("rate", 0, 0, 10_000_000);
        int size = (int)a.Long("size", 64, Payload.HeaderLength, Payload.MaxLength);
        IPAddress? ifaceIp = a.Address("interface-ip");
        int ttl = (int)a.Long("ttl", 1, 0, 255);
        int sourcePort = (int)a.Long("source-port", 0, 0, 65535);
        ulong firstSeq = (ulong)a.Long("first-seq", 0, 0);
        string? latenessLogPath = a.String("lateness-log");
        string? cpuList = a.String("cpu");
        a.RejectUnknown();
        if (cpuList is not null) PinSendingThread(cpuList);
        if (latenessLogPath is not null && (rate <= 0 || count > MaxLoggedCount))
            throw new UsageException($"option --lateness-log needs --rate and at most {MaxLoggedCount} datagrams");
        // Opened before sending, so a path that cannot be written fails before any traffic.
        using FileStream? latenessLog = latenessLogPath is null ? null : new FileStream(latenessLogPath, FileMode.Create, FileAccess.Write);
        long[]? lateness = latenessLog is null ? null : new long[count];

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, ttl);
        // Wide enough for an 8 KB datagram burst; the kernel's default can return ENOBUFS at high rates.
        socket.SendBufferSize = 1 << 20;
        if (ifaceIp is not null)
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, ifaceIp.GetAddressBytes());
        socket.Bind(new IPEndPoint(ifaceIp ?? IPAddress.Any, sourcePort));
        SocketAddress destination = new IPEndPoint(group, port).Serialize();

        byte[] buffer = GC.AllocateUninitializedArray<byte>(size, pinned: true);
        long sent = 0, errors = 0, maxLate = 0, maxLateIndex = 0;
        string? firstError = null;
        Pacer.Prepare();
        // What the sending took of this process and of the whole machine: the bench sets them side by side per system.
        MachineCpu? machineBefore = CpuTime.OfMachine();
        TimeSpan cpuBefore = Environment.CpuUsage.TotalTime;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        long start = Stopwatch.GetTimestamp();
        double ticksPerPacket = rate > 0 ? Stopwatch.Frequency / rate : 0;
        for (long i = 0; i < count; i++)
        {
            ulong seq = firstSeq + (ulong)i;
            // Filler is prepared before waiting, so the timestamp taken after the wait is as close to the send as possible.
            Payload.Write(buffer, seq, 0);
            if (ticksPerPacket > 0)
            {
                long due = start + (long)(i * ticksPerPacket);
                Pacer.WaitUntil(due);
                long late = Stopwatch.GetTimestamp() - due;
                if (late > maxLate) { maxLate = late; maxLateIndex = i; }
                if (lateness is not null) lateness[i] = (long)(late * 1e9 / Stopwatch.Frequency);
            }
            Payload.Stamp(buffer, WallClock.NowNs());
            try
            {
                socket.SendTo(buffer, SocketFlags.None, destination);
                sent++;
            }
            catch (SocketException e)
            {
                errors++;
                firstError ??= e.Message;
            }
        }
        double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        long loopAllocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        double loopCpu = (Environment.CpuUsage.TotalTime - cpuBefore).TotalSeconds;
        MachineCpu? machine = CpuTime.OfMachine() - machineBefore; // read right around the loop: its wall time is elapsed
        if (latenessLog is not null) ToolLog.Write(latenessLog, lateness);

        var local = (IPEndPoint?)socket.LocalEndPoint;
        var summary = new JsonObject
        {
            ["tool"] = "send",
            ["group"] = group.ToString(),
            ["port"] = port,
            ["source"] = local is null ? null : $"{ifaceIp ?? RoutedSource(group, port) ?? local.Address}:{local.Port}",
            ["source_port"] = local?.Port ?? 0,
            ["size"] = size,
            ["first_seq"] = firstSeq,
            ["sent"] = sent,
            ["errors"] = errors,
            ["first_error"] = firstError,
            ["rate_target"] = rate,
            ["rate_achieved"] = elapsed > 0 ? Math.Round(sent / elapsed, 1) : 0,
            ["elapsed_ms"] = Math.Round(elapsed * 1000, 1),
            ["loop_allocated_bytes"] = loopAllocated,
            ["loop_cpu_s"] = Math.Round(loopCpu, 3),
            // Every CPU's busy (and stolen) seconds while the loop ran, whoever spent them; null off Linux.
            ["machine_busy_cpu_s"] = machine is { } m ? Math.Round(m.BusySeconds(elapsed), 2) : null,
            ["machine_steal_cpu_s"] = machine is { } s ? Math.Round(s.StealSeconds, 2) : null,
            ["machine_cpus"] = machine is { } c ? c.Cpus : Environment.ProcessorCount,
            // Worst lateness against the schedule: pacing catches up afterwards, so this bounds the burstiness.
            ["max_late_us"] = Math.Round(maxLate * 1e6 / Stopwatch.Frequency, 1),
            ["max_late_seq"] = firstSeq + (ulong)maxLateIndex,
        };
        Console.Out.WriteLine(summary.ToJsonString());
        return errors == 0 ? 0 : 1;
    }

    /// <summary>The address the kernel picks as source towards the group (what receivers will see as sender).</summary>
    private static IPAddress? RoutedSource(IPAddress group, int port)
    {
        try
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            probe.Connect(group, port); // UDP connect only routes; nothing is sent
            return ((IPEndPoint)probe.LocalEndPoint!).Address;
        }
        catch (SocketException) { return null; }
    }
}
