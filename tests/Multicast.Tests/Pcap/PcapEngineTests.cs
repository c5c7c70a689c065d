using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Multicast.Core.Config;
using Multicast.Core.DataPlane;
using Multicast.Core.Engines;
using Multicast.Core.Packets;
using Multicast.Core.Tables;
using Multicast.Linux;
using Multicast.Pcap;
using Multicast.Tests.Unit;
using NUnit.Framework;

namespace Multicast.Tests.Pcap;

/// <summary>
/// The pcap server engine on Linux between two namespaces: an ordinary UDP multicast sender in A, the engine
/// capturing it on A's veth end, the copies checked byte by byte at B's end.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class PcapEngineTests
{
    private static readonly uint Group = IpAddressV4.Parse("239.7.7.7");
    private static readonly uint OtherGroup = IpAddressV4.Parse("239.7.7.8");
    private const ushort GroupPort = 5000, ServerPort = 6000, SenderPort = 5555;

    private PcapNetns _net = null!;

    [SetUp]
    public void SetUp()
    {
        PcapNetns.RequireRoot();
        _net = new PcapNetns();
    }

    [TearDown]
    public void TearDown() => _net?.Dispose();

    private static FanoutTable Table(FanoutTable? previous, params (uint Group, uint[] Members)[] groups) =>
        new(new ServerConfig(groups.Select(g => new GroupConfig(g.Group, GroupPort, ServerPort, g.Members)).ToList()), previous);

    private PcapServerEngine Engine(ServerForwarder forwarder) =>
        (PcapServerEngine)_net.InA(() => EngineFactory.CreateServer(EngineNames.Pcap, PcapNetns.IfA, forwarder, NullLogger.Instance));

    private Socket Sender() => _net.InA(() =>
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IpAddressV4.ToIPAddress(PcapNetns.AddrA), SenderPort));
        s.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, IpAddressV4.ToIPAddress(PcapNetns.AddrA).GetAddressBytes());
        s.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 1);
        return s;
    });

    /// <summary>Sees every UDP packet B receives, IP header included.</summary>
    private Socket MemberTap() => _net.InB(() =>
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Udp) { ReceiveTimeout = 200 };
        return s;
    });

    /// <summary>Sees the application's own multicast as A sends it (looped back, so joined on A's interface).</summary>
    private Socket SourceTap() => _net.InA(() =>
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Udp) { ReceiveTimeout = 200 };
        s.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership,
            new MulticastOption(IpAddressV4.ToIPAddress(Group), IpAddressV4.ToIPAddress(PcapNetns.AddrA)));
        s.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership,
            new MulticastOption(IpAddressV4.ToIPAddress(OtherGroup), IpAddressV4.ToIPAddress(PcapNetns.AddrA)));
        return s;
    });

    private static List<byte[]> Drain(Socket tap, Func<byte[], bool> keep, int expected, TimeSpan limit)
    {
        var result = new List<byte[]>();
        var buffer = new byte[70000];
        DateTime end = DateTime.UtcNow + limit;
        while (result.Count < expected && DateTime.UtcNow < end)
        {
            int n;
            try { n = tap.Receive(buffer); }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut) { continue; }
            byte[] p = buffer[..n];
            if (keep(p)) result.Add(p);
        }
        return result;
    }

    private static bool IsCopy(byte[] p) => TestPackets.Address(p, 12) == PcapNetns.AddrA && TestPackets.DestinationPort(p) == ServerPort;

    private static (Thread, CancellationTokenSource) Start(IServerEngine engine)
    {
        var cts = new CancellationTokenSource();
        var t = new Thread(() => engine.Run(cts.Token)) { IsBackground = true, Name = "pcap-engine" };
        t.Start();
        return (t, cts);
    }

    private static void Stop(Thread t, CancellationTokenSource cts)
    {
        cts.Cancel();
        Assert.That(t.Join(TimeSpan.FromSeconds(5)), Is.True, "engine stops within its read timeout");
    }

    [Test]
    public void Copies_ArriveAtTheMember_RewrittenExactlyAsDocumented()
    {
        var forwarder = new ServerForwarder();
        using PcapServerEngine engine = Engine(forwarder);
        engine.Apply(Table(null, (Group, [PcapNetns.AddrB])));
        using Socket tapB = MemberTap(), tapA = SourceTap(), sender = Sender();
        (Thread thread, CancellationTokenSource cts) = Start(engine);
        const int count = 15;
        try
        {
            for (int i = 0; i < count; i++)
            {
                byte[] payload = new byte[100 + i * 37];
                Random.Shared.NextBytes(payload);
                BinaryPrimitives.WriteInt32BigEndian(payload, i);
                sender.SendTo(payload, new IPEndPoint(IpAddressV4.ToIPAddress(Group), GroupPort));
                Thread.Sleep(150); // spread over the resolver's refresh: early copies take the slow path, later ones are framed
            }
            List<byte[]> copies = Drain(tapB, IsCopy, count, TimeSpan.FromSeconds(5));
            List<byte[]> originals = Drain(tapA, p => TestPackets.Address(p, 16) == Group, count, TimeSpan.FromSeconds(2));
            Assert.That(copies, Has.Count.EqualTo(count), "every datagram reaches the member exactly once, slow path or not");
            Assert.That(originals, Has.Count.EqualTo(count));
            foreach (byte[] copy in copies)
            {
                int ihl = TestPackets.Ihl(copy);
                int seq = BinaryPrimitives.ReadInt32BigEndian(copy.AsSpan(ihl + 8));
                byte[] original = originals.Single(o => BinaryPrimitives.ReadInt32BigEndian(o.AsSpan(TestPackets.Ihl(o) + 8)) == seq);
                Assert.That(copy, Has.Length.EqualTo(original.Length));
                for (int b = 0; b < copy.Length; b++)
                {
                    bool rewritten = b is 1 or 8 or 10 or 11 or >= 16 and < 20 || b - ihl is 2 or 3 or 6 or 7;
                    if (!rewritten) Assert.That(copy[b], Is.EqualTo(original[b]), $"datagram {seq}, byte {b}");
                }
                Assert.That(copy[1], Is.EqualTo(ProxyMarker.Tos), "TOS marker");
                Assert.That(copy[8], Is.GreaterThanOrEqualTo(64), "TTL");
                Assert.That(TestPackets.Address(copy, 16), Is.EqualTo(PcapNetns.AddrB), "destination = member");
                Assert.That(TestPackets.IpChecksumField(copy), Is.EqualTo(TestPackets.IpChecksum(copy)), "IP checksum");
                Assert.That(TestPackets.UdpChecksumField(copy), Is.EqualTo(TestPackets.UdpChecksum(copy)), "UDP checksum");
            }
        }
        finally { Stop(thread, cts); }
        ServerCounters c = forwarder.Counters;
        Assert.That(c.Forwarded, Is.EqualTo(count));
        Assert.That(c.CopiesSent, Is.EqualTo(count));
        Assert.That(engine.Slots.FramedCopies + engine.Slots.SlowPathCopies, Is.EqualTo(count));
        Assert.That(engine.Slots.FramedCopies, Is.GreaterThan(0), "once ARP has answered, copies are framed by the engine");
        Assert.That(engine.Slots.SendErrors, Is.Zero);
        TestContext.Out.WriteLine($"framed {engine.Slots.FramedCopies}, slow path {engine.Slots.SlowPathCopies}, checksums completed {c.ChecksumsCompleted}");
    }

    [Test]
    public void Apply_KeepsOneFilterWhileGroupsComeAndGo_AndANewGroupIsForwardedAtOnce()
    {
        var forwarder = new ServerForwarder();
        using PcapServerEngine engine = Engine(forwarder);
        FanoutTable first = Table(null, (Group, [PcapNetns.AddrB]));
        engine.Apply(first);
        using Socket tapB = MemberTap(), sender = Sender();
        (Thread thread, CancellationTokenSource cts) = Start(engine);
        try
        {
            var other = new IPEndPoint(IpAddressV4.ToIPAddress(OtherGroup), GroupPort);
            sender.SendTo("not yet"u8.ToArray(), other);
            Assert.That(Drain(tapB, IsCopy, 1, TimeSpan.FromMilliseconds(600)), Is.Empty, "an unconfigured group is not forwarded");

            // libpcap discards what is queued when a filter is replaced, so adding a group must not replace it.
            int changes = engine.Capture.FilterChanges;
            string filter = engine.Capture.Filter;
            engine.Apply(Table(first, (Group, [PcapNetns.AddrB]), (OtherGroup, [PcapNetns.AddrB])));
            sender.SendTo("now"u8.ToArray(), other);
            Assert.That(Drain(tapB, IsCopy, 1, TimeSpan.FromSeconds(3)), Has.Count.EqualTo(1));
            Assert.That(engine.Capture.FilterChanges, Is.EqualTo(changes));
            Assert.That(engine.Capture.Filter, Is.EqualTo(filter));

            engine.Apply(FanoutTable.Empty);
            DateTime end = DateTime.UtcNow.AddSeconds(3);
            while (engine.Capture.Filter != PcapFilterBuilder.MatchNothing && DateTime.UtcNow < end) Thread.Sleep(10);
            Assert.That(engine.Capture.Filter, Is.EqualTo(PcapFilterBuilder.MatchNothing), "no groups: capture nothing");
        }
        finally { Stop(thread, cts); }
        Assert.That(forwarder.Counters.Forwarded, Is.EqualTo(1));
        Assert.That(forwarder.Counters.DroppedNoGroup, Is.EqualTo(1), "the datagram sent before its group existed");
    }

    [Test]
    public void ForwardingLoop_AllocatesNothingPerPacket()
    {
        var forwarder = new ServerForwarder();
        using PcapServerEngine engine = Engine(forwarder);
        // B is framed by the engine once resolved; the unanswered address takes the slow path every time.
        engine.Apply(Table(null, (Group, [PcapNetns.AddrB, PcapNetns.Unanswered])));
        using Socket sender = Sender();
        var stop = new CancellationTokenSource();
        var target = new IPEndPoint(IpAddressV4.ToIPAddress(Group), GroupPort);
        var payload = new byte[512];
        var sending = new Thread(() =>
        {
            while (!stop.IsCancellationRequested) { sender.SendTo(payload, target); Thread.Sleep(1); }
        }) { IsBackground = true };
        sending.Start();
        IFrameSink sink = engine;
        try
        {
            DateTime end = DateTime.UtcNow.AddSeconds(10);
            // Warm up until B is resolved and framed copies flow (tiering done, resolver table published).
            while ((engine.Slots.FramedCopies < 200 || forwarder.Counters.Forwarded < 400) && DateTime.UtcNow < end)
                engine.Capture.DispatchOnce(sink);
            Assert.That(engine.Slots.FramedCopies, Is.GreaterThanOrEqualTo(200), "B resolved during warm-up");

            long forwardedBefore = forwarder.Counters.Forwarded, framedBefore = engine.Slots.FramedCopies, slowBefore = engine.Slots.SlowPathCopies;
            long before = GC.GetAllocatedBytesForCurrentThread();
            while (forwarder.Counters.Forwarded - forwardedBefore < 1000 && DateTime.UtcNow < end) engine.Capture.DispatchOnce(sink);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            long forwarded = forwarder.Counters.Forwarded - forwardedBefore;
            TestContext.Out.WriteLine($"{forwarded} datagrams, {engine.Slots.FramedCopies - framedBefore} framed copies, " +
                                      $"{engine.Slots.SlowPathCopies - slowBefore} slow-path copies, {allocated} bytes allocated");
            Assert.That(forwarded, Is.GreaterThanOrEqualTo(1000));
            Assert.That(engine.Slots.SlowPathCopies - slowBefore, Is.EqualTo(forwarded), "the unanswered member: slow path every time");
            Assert.That(allocated, Is.Zero, "bytes allocated on the capture → forward → transmit path");
        }
        finally
        {
            stop.Cancel();
            sending.Join();
        }
    }
}
