using NUnit.Framework;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Multicast.Core.Config;
using Multicast.Core.DataPlane;
using Multicast.Core.Filters;
using Multicast.Core.Packets;
using Multicast.Core.Tables;
using Multicast.Linux.Net;
using Multicast.Linux.Ring;
using Multicast.Linux.Sockets;

namespace Multicast.Tests.Ring;

[TestFixture, NonParallelizable]
public sealed class RingShimTests : RingTestBase
{
    private static readonly uint Group = IpAddressV4.Parse("239.1.2.3");
    private static readonly uint OtherGroup = IpAddressV4.Parse("239.9.9.9");

    [Test]
    public void InterfaceInfo_ReadsTheNamespacesVeth()
    {
        InterfaceInfo a = Net.InA(() => InterfaceInfo.Get(NetnsPair.IfA));
        InterfaceInfo b = Net.InB(() => InterfaceInfo.Get(NetnsPair.IfB));
        Assert.That(a.IsEthernet && b.IsEthernet, Is.True);
        Assert.That(a.Mtu, Is.EqualTo(1500));
        Assert.That(a.Mac, Is.Not.EqualTo(b.Mac));
        Assert.That(a.Mac, Is.Not.Zero);
        Assert.Throws<ShimException>(() => Net.InA(() => InterfaceInfo.Get("mcr-none")));
    }

    [Test]
    public void TxRing_FramesArriveAtThePeer()
    {
        const ushort port = 40001;
        const int count = 100;
        (InterfaceInfo a, InterfaceInfo b, Socket receiver, TxRing ring) = OpenTxRingTowardsB(port, frameCount: 256);
        using Socket receiverScope = receiver;
        using (ring)
        {
            Assert.That(ring.QdiscBypassStatus, Is.EqualTo(1), "PACKET_QDISC_BYPASS");
            Assert.That(ring.LinearCopyStatus, Is.EqualTo(1), "PACKET_VNET_HDR (frames copied linear)");
            for (int i = 0; i < count; i++)
            {
                byte[] ip = TestPackets.Udp(NetnsPair.AddrA, NetnsPair.AddrB, 5555, port, Encoding.ASCII.GetBytes($"ring {i}"));
                Assert.That(QueueFrame(ring, b.Mac, a.Mac, ip), "ring full after " + i);
            }
            Assert.That(ring.Pending, Is.EqualTo(count));
            Assert.That(ring.Kick(), Is.GreaterThan(0));
            Assert.That(ring.Pending, Is.Zero);

            var got = ReceiveUpTo(receiver, count);
            Assert.That(got, Has.Count.EqualTo(count));
            Assert.That(Encoding.ASCII.GetString(got[0].Data), Is.EqualTo("ring 0"));
            Assert.That(Encoding.ASCII.GetString(got[^1].Data), Is.EqualTo($"ring {count - 1}"));
            Assert.That(got[0].From, Is.EqualTo(new IPEndPoint(IpAddressV4.ToIPAddress(NetnsPair.AddrA), 5555)));
            TxRingStats stats = ring.ReadStatistics();
            Assert.That(stats.Queued, Is.EqualTo((ulong)count));
            Assert.That(stats.KickErrors + stats.KickNoBuffers + stats.WrongFormat, Is.Zero);
        }
    }

    [Test]
    public void TxRing_FramesOfEverySizeArriveByteExact()
    {
        // The ring frame starts with a virtio-net header in front of the Ethernet frame: an off-by-its-length shows up
        // as shifted or truncated payloads, at the smallest and the largest frame alike.
        const ushort port = 40002;
        int[] sizes = [1, 99, 100, 1000, 1472];
        (InterfaceInfo a, InterfaceInfo b, Socket receiver, TxRing ring) = OpenTxRingTowardsB(port, frameCount: 64);
        using Socket receiverScope = receiver;
        using (ring)
        {
            Assert.That(ring.Capacity, Is.GreaterThanOrEqualTo(1514));
            var sent = new List<byte[]>();
            foreach (int size in sizes)
            {
                byte[] payload = Enumerable.Range(0, size).Select(i => (byte)(i * 7 + size)).ToArray();
                sent.Add(payload);
                byte[] ip = TestPackets.Udp(NetnsPair.AddrA, NetnsPair.AddrB, 5555, port, payload);
                Assert.That(QueueFrame(ring, b.Mac, a.Mac, ip), "ring full");
            }
            Assert.That(ring.Kick(), Is.GreaterThan(0));
            var got = ReceiveUpTo(receiver, sizes.Length);
            Assert.That(got.Select(g => g.Data), Is.EqualTo(sent));
        }
    }

    /// <summary>A UDP receiver on B's side and a TX ring on A's interface, with both interfaces (for the MACs).</summary>
    private (InterfaceInfo A, InterfaceInfo B, Socket Receiver, TxRing Ring) OpenTxRingTowardsB(ushort port, int frameCount)
    {
        InterfaceInfo b = Net.InB(() => InterfaceInfo.Get(NetnsPair.IfB));
        Socket receiver = Net.InB(() => UdpReceiver(port));
        (InterfaceInfo a, TxRing ring) = Net.InA(() =>
        {
            InterfaceInfo info = InterfaceInfo.Get(NetnsPair.IfA);
            return (info, TxRing.Open(info.Index, info.Mtu, frameCount));
        });
        return (a, b, receiver, ring);
    }

    /// <summary>Frames <paramref name="ip"/> for <paramref name="dstMac"/> into the next ring frame; false when the ring is full.</summary>
    private static unsafe bool QueueFrame(TxRing ring, ulong dstMac, ulong srcMac, byte[] ip)
    {
        byte* frame = ring.NextFrame();
        if (frame == null) return false;
        var f = new Span<byte>(frame, 14 + ip.Length);
        BinaryPrimitives.WriteUInt64BigEndian(f, dstMac << 16);
        BinaryPrimitives.WriteUInt64BigEndian(f[6..], srcMac << 16);
        BinaryPrimitives.WriteUInt16BigEndian(f[12..], 0x0800);
        ip.CopyTo(f[14..]);
        ring.Ready(f.Length);
        return true;
    }

    [Test]
    public void TxRing_ReportsFullInsteadOfOverwriting()
    {
        using TxRing ring = Net.InA(() =>
        {
            InterfaceInfo info = InterfaceInfo.Get(NetnsPair.IfA);
            return TxRing.Open(info.Index, info.Mtu, frameCount: 8);
        });
        int queued = 0;
        unsafe
        {
            while (ring.NextFrame() != null && queued < 100) { ring.Ready(60); queued++; }
        }
        Assert.That(queued, Is.EqualTo(8), "frames available before any kick");
        Assert.That(ring.ReadStatistics().RingFull, Is.EqualTo(1UL));
    }

    [Test]
    public void TxRing_WaitForFreeFrame_TimesOutWhileFramesWaitForAKick_AndSucceedsOnceKicked()
    {
        const ushort port = 40003;
        (InterfaceInfo a, InterfaceInfo b, Socket receiver, TxRing ring) = OpenTxRingTowardsB(port, frameCount: 8);
        using Socket receiverScope = receiver;
        using (ring)
        {
            byte[] ip = TestPackets.Udp(NetnsPair.AddrA, NetnsPair.AddrB, 5555, port, Encoding.ASCII.GetBytes("full"));
            while (QueueFrame(ring, b.Mac, a.Mac, ip)) { }
            Assert.That(ring.Pending, Is.EqualTo(ring.FrameCount));
            var waited = System.Diagnostics.Stopwatch.StartNew();
            Assert.That(ring.WaitForFreeFrame(20_000), Is.False, "nothing frees a frame that was never sent");
            Assert.That(waited.Elapsed.TotalMilliseconds, Is.GreaterThanOrEqualTo(19));
            Assert.That(ring.Kick(), Is.GreaterThan(0));
            Assert.That(ring.WaitForFreeFrame(1_000_000), Is.True, "a veth frees its frames within the kick");
            Assert.That(QueueFrame(ring, b.Mac, a.Mac, ip), Is.True);
            Assert.That(ReceiveUpTo(receiver, ring.FrameCount), Has.Count.EqualTo(ring.FrameCount));
        }
    }

    [TestCase(2)]
    [TestCase(3)]
    public void RxRing_CapturesOutgoingMulticastAndFlagsThePartialChecksum(int version)
    {
        const ushort port = 40010;
        var options = new RxRingOptions { Version = version, V3BlockSize = 8192 };
        (RxRing rx, Socket sender) = Net.InA(() =>
        {
            InterfaceInfo a = InterfaceInfo.Get(NetnsPair.IfA);
            return (RxRing.Open(a.Index, a.Mtu, options, BpfFilterBuilder.ServerCapture([Group], 14), false),
                    MulticastSender(NetnsPair.AddrA));
        });
        using (rx)
        using (sender)
        {
            Assert.That(rx.Version, Is.EqualTo(version));
            sender.SendTo(Encoding.ASCII.GetBytes("not captured"), new IPEndPoint(IpAddressV4.ToIPAddress(OtherGroup), port));
            sender.SendTo(Encoding.ASCII.GetBytes("captured"), new IPEndPoint(IpAddressV4.ToIPAddress(Group), port));

            List<(byte[] Ip, bool Partial)> frames = Collect(rx, expected: 1);
            Assert.That(frames, Has.Count.EqualTo(1), "only the configured group passes the filter");
            byte[] ip = frames[0].Ip;
            Assert.That(Ipv4Header.Destination(ip), Is.EqualTo(Group));
            Assert.That(Encoding.ASCII.GetString(ip.AsSpan(28)), Is.EqualTo("captured"));
            // veth offloads the UDP checksum: the captured field holds only the pseudo-header sum.
            Assert.That(frames[0].Partial, Is.True, "TP_STATUS_CSUMNOTREADY");
            Assert.That(TestPackets.UdpChecksumValid(ip), Is.False, "a partial checksum does not verify as it is");

            // Handled: the forwarder completes it once and every copy verifies.
            var forwarder = new ServerForwarder();
            forwarder.Publish(new FanoutTable(new ServerConfig([new GroupConfig(Group, port, 0, [NetnsPair.AddrB])]), null));
            var slots = new CapturingSlots();
            forwarder.Forward(ip, frames[0].Partial, slots);
            var copies = slots.Snapshot();
            Assert.That(copies, Has.Count.EqualTo(1));
            Assert.That(TestPackets.UdpChecksumValid(copies[0].Packet), Is.True);
            Assert.That(forwarder.Counters.ChecksumsCompleted, Is.EqualTo(1));
        }
    }

    [Test]
    public void RxRing_FilterSwapTakesEffect()
    {
        const ushort port = 40020;
        (RxRing rx, Socket sender) = Net.InA(() =>
        {
            InterfaceInfo a = InterfaceInfo.Get(NetnsPair.IfA);
            return (RxRing.Open(a.Index, a.Mtu, RxRingOptions.Default, BpfFilterBuilder.ServerCapture([Group], 14), false),
                    MulticastSender(NetnsPair.AddrA));
        });
        using (rx)
        using (sender)
        {
            sender.SendTo([1], new IPEndPoint(IpAddressV4.ToIPAddress(Group), port));
            Assert.That(Collect(rx, 1).Select(f => Ipv4Header.Destination(f.Ip)), Is.EqualTo(new[] { Group }));

            rx.SetFilter(BpfFilterBuilder.ServerCapture([OtherGroup], 14));
            sender.SendTo([2], new IPEndPoint(IpAddressV4.ToIPAddress(Group), port));
            sender.SendTo([3], new IPEndPoint(IpAddressV4.ToIPAddress(OtherGroup), port));
            Assert.That(Collect(rx, 1).Select(f => Ipv4Header.Destination(f.Ip)), Is.EqualTo(new[] { OtherGroup }));

            rx.SetFilter(BpfFilterBuilder.ServerCapture(Array.Empty<uint>(), 14));
            sender.SendTo([4], new IPEndPoint(IpAddressV4.ToIPAddress(Group), port));
            sender.SendTo([5], new IPEndPoint(IpAddressV4.ToIPAddress(OtherGroup), port));
            Assert.That(Collect(rx, 0, quietMs: 300), Is.Empty);
        }
    }

    [Test]
    public void NetlinkNextHops_ResolveOnLinkAndGatewayedDestinations()
    {
        InterfaceInfo b = Net.InB(() => InterfaceInfo.Get(NetnsPair.IfB));
        (NextHopCache cache, RawSocketTxSlots slowPath) = Net.InA(() =>
        {
            InterfaceInfo a = InterfaceInfo.Get(NetnsPair.IfA);
            var logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
            return (new NextHopCache(new NetlinkNextHopSource(a.Index, logger), a.Index, logger, startThread: false),
                    new RawSocketTxSlots(capacity: 4, slotSize: 2048));
        });
        using (cache)
        using (slowPath)
        {
            // A fresh namespace has no neighbours: the route is ours but the MAC is unknown.
            Assert.That(cache.TryGetMac(NetnsPair.AddrB, out _), Is.False);
            Assert.That(cache.Misses, Is.EqualTo(1));
            cache.RefreshNow();
            Assert.That(cache.TryGetEntry(NetnsPair.AddrB, out NextHopEntry before), Is.True, "missed destination was queued");
            Assert.That(before.Kind, Is.EqualTo(NextHopKind.Resolving));
            Assert.That(before.NextHop, Is.EqualTo(NetnsPair.AddrB));

            // A slow-path send through the kernel starts ARP, as the engine's first copy does.
            byte[] packet = TestPackets.Udp(NetnsPair.AddrA, NetnsPair.AddrB, 5555, 9, [0]);
            packet.CopyTo(slowPath.Acquire(NetnsPair.AddrB, packet.Length));
            slowPath.Commit();
            slowPath.Flush();
            Assert.That(slowPath.SendErrors, Is.Zero, $"slow path errno {slowPath.LastSendError}");

            cache.Watch([NetnsPair.AddrB, NetnsPair.RoutedDestination, IpAddressV4.Parse("127.0.0.1"), IpAddressV4.Parse("10.203.0.1")]);
            for (int i = 0; i < 50 && !cache.TryGetMac(NetnsPair.AddrB, out _); i++)
            {
                cache.RefreshNow();
                Thread.Sleep(50);
            }
            Assert.That(cache.TryGetEntry(NetnsPair.AddrB, out NextHopEntry onLink), Is.True);
            Assert.That(onLink.Kind, Is.EqualTo(NextHopKind.Direct));
            Assert.That(onLink.Mac, Is.EqualTo(b.Mac));
            Assert.That(cache.TryGetMac(NetnsPair.AddrB, out ulong mac) && mac == b.Mac, Is.True);

            Assert.That(cache.TryGetEntry(NetnsPair.RoutedDestination, out NextHopEntry routed), Is.True);
            Assert.That(routed.Kind, Is.EqualTo(NextHopKind.Direct));
            Assert.That(routed.NextHop, Is.EqualTo(NetnsPair.AddrB), "the gateway");
            Assert.That(routed.Mac, Is.EqualTo(b.Mac));

            Assert.That(cache.TryGetEntry(IpAddressV4.Parse("127.0.0.1"), out NextHopEntry local) ? local.Kind : (NextHopKind?)null,
                Is.EqualTo(NextHopKind.Elsewhere));
            Assert.That(cache.TryGetEntry(IpAddressV4.Parse("10.203.0.1"), out NextHopEntry none) ? none.Kind : (NextHopKind?)null,
                Is.EqualTo(NextHopKind.Elsewhere), "no route");
        }
    }

    /// <summary>Walks the ring until <paramref name="expected"/> frames arrived, then waits a little for extras.</summary>
    private static List<(byte[] Ip, bool Partial)> Collect(RxRing rx, int expected, int quietMs = 200)
    {
        var result = new List<(byte[], bool)>();
        var frames = new RingFrame[16];
        DateTime deadline = DateTime.UtcNow.AddSeconds(3);
        DateTime quietUntil = DateTime.MaxValue;
        while (DateTime.UtcNow < deadline && DateTime.UtcNow < quietUntil)
        {
            int n = rx.Walk(frames);
            if (n == 0) { rx.Wait(20); }
            long now = HopLatency.NowNs();
            for (int i = 0; i < n; i++)
            {
                // The kernel's capture stamp (HopLatency's start) is CLOCK_REALTIME and taken before this walk.
                Assert.That(now - frames[i].CapturedAtNs, Is.InRange(0L, 5_000_000_000L), "capture stamp");
                ReadOnlySpan<byte> ip = frames[i].Network;
                result.Add((ip[..Ipv4Header.TotalLength(ip)].ToArray(), frames[i].ChecksumNotReady));
            }
            if (n > 0) rx.Release();
            if (result.Count >= expected && quietUntil == DateTime.MaxValue) quietUntil = DateTime.UtcNow.AddMilliseconds(quietMs);
        }
        return result;
    }
}
