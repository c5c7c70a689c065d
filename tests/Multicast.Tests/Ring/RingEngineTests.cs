using NUnit.Framework;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Multicast.Core.Config;
using Multicast.Core.DataPlane;
using Multicast.Core.Packets;
using Multicast.Core.Tables;
using Multicast.Linux.Ring;
using Multicast.Linux.Sockets;

namespace Multicast.Tests.Ring;

[TestFixture, NonParallelizable]
public sealed class RingEngineTests : RingTestBase
{
    private static readonly uint Group = IpAddressV4.Parse("239.1.2.3");

    [Test]
    public void ServerEngine_DeliversEveryCopy_SlowPathWhileResolving_ThenRing()
    {
        const ushort groupPort = 41000, serverPort = 41001;
        const int count = 40;
        Net.FlushNeighboursOfA();
        var forwarder = new ServerForwarder();
        using Socket receiver = Net.InB(() => UdpReceiver(serverPort));
        using Socket groupListener = Net.InB(() => UdpReceiver(groupPort)); // must see no copies
        (RingServerEngine engine, Socket app) = Net.InA(() =>
            (new RingServerEngine(NetnsPair.IfA, forwarder, NullLogger.Instance), MulticastSender(NetnsPair.AddrA)));
        using (engine)
        using (app)
        {
            engine.Apply(new FanoutTable(new ServerConfig([new GroupConfig(Group, groupPort, serverPort, [NetnsPair.AddrB])]), null));
            using var stop = new CancellationTokenSource();
            var thread = new Thread(() => engine.Run(stop.Token)) { IsBackground = true };
            thread.Start();
            try
            {
                int appPort = ((IPEndPoint)app.LocalEndPoint!).Port;
                for (int i = 0; i < count; i++)
                {
                    app.SendTo(Encoding.ASCII.GetBytes($"copy {i}"), new IPEndPoint(IpAddressV4.ToIPAddress(Group), groupPort));
                    Thread.Sleep(15);
                }
                var got = ReceiveUpTo(receiver, count);
                Assert.That(got.Select(g => Encoding.ASCII.GetString(g.Data)),
                    Is.EquivalentTo(Enumerable.Range(0, count).Select(i => $"copy {i}")), "every copy arrives, none dropped while ARP ran");
                Assert.That(got[0].From, Is.EqualTo(new IPEndPoint(IpAddressV4.ToIPAddress(NetnsPair.AddrA), appPort)),
                    "source address and port unchanged");
            }
            finally
            {
                stop.Cancel();
                Assert.That(thread.Join(TimeSpan.FromSeconds(2)), Is.True, "Run returns promptly on cancellation");
            }
            Assert.That(forwarder.Counters.Forwarded, Is.EqualTo(count));
            Assert.That(forwarder.Counters.CopiesDroppedTxFull, Is.Zero);
            Assert.That(engine.Slots.SlowPathCopies, Is.GreaterThanOrEqualTo(1), "first copy went out before the neighbour was known");
            Assert.That(engine.Slots.FramedCopies, Is.GreaterThanOrEqualTo(1), "later copies used the TX ring");
            Assert.That(engine.Slots.SlowPathCopies + engine.Slots.FramedCopies, Is.EqualTo(count));
            Assert.That(engine.TxStatistics.Queued, Is.EqualTo((ulong)engine.Slots.FramedCopies));
            Assert.That(engine.SlowPath.SendErrors, Is.Zero);
        }
    }

    [Test]
    public void ServerEngine_CopiesAreMarkedWithValidChecksums()
    {
        const ushort groupPort = 41100;
        var forwarder = new ServerForwarder();
        // The member side captures with a plain packet socket to look at the header bytes on the wire.
        using Socket capture = Net.InB(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Udp);
            s.ReceiveTimeout = 3000;
            return s;
        });
        (RingServerEngine engine, Socket app) = Net.InA(() =>
            (new RingServerEngine(NetnsPair.IfA, forwarder, NullLogger.Instance), MulticastSender(NetnsPair.AddrA)));
        using (engine)
        using (app)
        {
            engine.Apply(new FanoutTable(new ServerConfig([new GroupConfig(Group, groupPort, 0, [NetnsPair.AddrB])]), null));
            using var stop = new CancellationTokenSource();
            var thread = new Thread(() => engine.Run(stop.Token)) { IsBackground = true };
            thread.Start();
            var wire = new List<byte[]>();
            try
            {
                // Enough sends for the neighbour to resolve, so the last copies come from the ring.
                for (int i = 0; i < 30; i++)
                {
                    app.SendTo(Encoding.ASCII.GetBytes($"mark {i}"), new IPEndPoint(IpAddressV4.ToIPAddress(Group), groupPort));
                    Thread.Sleep(15);
                }
                var buffer = new byte[65536];
                try
                {
                    while (true)
                    {
                        int n = capture.Receive(buffer);
                        if (Ipv4Header.Destination(buffer) == NetnsPair.AddrB && UdpHeader.DestinationPort(buffer.AsSpan(20)) == groupPort)
                            wire.Add(buffer[..n]);
                        if (wire.Count == 30) break;
                    }
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut) { }
            }
            finally
            {
                stop.Cancel();
                thread.Join(TimeSpan.FromSeconds(2));
            }
            Assert.That(engine.Slots.FramedCopies, Is.GreaterThan(0));
            Assert.That(wire, Has.Count.EqualTo(30));
            foreach (byte[] ip in wire)
            {
                Assert.That(Ipv4Header.Tos(ip), Is.EqualTo(ProxyMarker.Tos));
                Assert.That(Ipv4Header.Ttl(ip), Is.GreaterThanOrEqualTo(ProxyMarker.MinimumTtl - 1));
                Assert.That(Ipv4Header.Source(ip), Is.EqualTo(NetnsPair.AddrA));
                Assert.That(Ipv4Header.ChecksumValid(ip), Is.True);
                Assert.That(TestPackets.UdpChecksumValid(ip), Is.True);
            }
        }
    }

    [Test]
    public void ServerEngine_ApplyWidensTheCapture()
    {
        const ushort port = 41200;
        uint laterGroup = IpAddressV4.Parse("239.5.5.5");
        var forwarder = new ServerForwarder();
        using Socket receiver = Net.InB(() => UdpReceiver(port));
        (RingServerEngine engine, Socket app) = Net.InA(() =>
            (new RingServerEngine(NetnsPair.IfA, forwarder, NullLogger.Instance), MulticastSender(NetnsPair.AddrA)));
        using (engine)
        using (app)
        {
            using var stop = new CancellationTokenSource();
            var thread = new Thread(() => engine.Run(stop.Token)) { IsBackground = true };
            thread.Start();
            try
            {
                app.SendTo("before"u8.ToArray(), new IPEndPoint(IpAddressV4.ToIPAddress(laterGroup), port));
                Thread.Sleep(200);
                Assert.That(forwarder.Counters.Captured, Is.Zero, "the empty table captures nothing");
                engine.Apply(new FanoutTable(new ServerConfig([new GroupConfig(laterGroup, port, 0, [NetnsPair.AddrB])]), null));
                app.SendTo("after"u8.ToArray(), new IPEndPoint(IpAddressV4.ToIPAddress(laterGroup), port));
                var got = ReceiveUpTo(receiver, 2);
                Assert.That(got.Select(g => Encoding.ASCII.GetString(g.Data)), Is.EqualTo(new[] { "after" }));
            }
            finally
            {
                stop.Cancel();
                thread.Join(TimeSpan.FromSeconds(2));
            }
        }
    }

    [Test]
    public void ClientEngine_RestoresMarkedCopiesFromConfiguredServers()
    {
        const ushort copyPort = 41301, groupPort = 41300, wrongPort = 41302;
        var forwarder = new ClientForwarder(deliveryTtl: 1);
        var delivery = new CapturingSlots();
        RingClientEngine engine = Net.InB(() => new RingClientEngine(NetnsPair.IfB, forwarder, delivery, NullLogger.Instance));
        using RawSocketTxSlots sender = Net.InA(() => new RawSocketTxSlots(capacity: 4, slotSize: 2048));
        using (engine)
        {
            Assert.That(engine.IgnoresOutgoing, Is.True, "PACKET_IGNORE_OUTGOING on a 6.x kernel");
            engine.Apply(new ClientTable(new ClientConfig([new ClientRouteConfig(NetnsPair.AddrA, copyPort, Group, groupPort)]), null));
            using var stop = new CancellationTokenSource();
            var thread = new Thread(() => engine.Run(stop.Token)) { IsBackground = true };
            thread.Start();
            try
            {
                void Send(byte[] p) { p.CopyTo(sender.Acquire(NetnsPair.AddrB, p.Length)); sender.Commit(); sender.Flush(); }
                Send(TestPackets.Udp(NetnsPair.AddrA, NetnsPair.AddrB, 6000, copyPort, "marked"u8, tos: ProxyMarker.Tos));
                Send(TestPackets.Udp(NetnsPair.AddrA, NetnsPair.AddrB, 6000, copyPort, "unmarked"u8, tos: 0));
                Send(TestPackets.Udp(NetnsPair.AddrA, NetnsPair.AddrB, 6000, wrongPort, "wrong port"u8, tos: ProxyMarker.Tos));
                Assert.That(sender.SendErrors, Is.Zero);
                DateTime deadline = DateTime.UtcNow.AddSeconds(3);
                while (forwarder.Counters.Received < 2 && DateTime.UtcNow < deadline) Thread.Sleep(20);
                Thread.Sleep(100);
            }
            finally
            {
                stop.Cancel();
                Assert.That(thread.Join(TimeSpan.FromSeconds(2)), Is.True);
            }
            var delivered = delivery.Snapshot();
            Assert.That(delivered, Has.Count.EqualTo(1));
            byte[] ip = delivered[0].Packet;
            Assert.That(delivered[0].Destination, Is.EqualTo(Group));
            Assert.That(Ipv4Header.Destination(ip), Is.EqualTo(Group));
            Assert.That(Ipv4Header.Source(ip), Is.EqualTo(NetnsPair.AddrA));
            Assert.That(UdpHeader.DestinationPort(ip.AsSpan(20)), Is.EqualTo(groupPort));
            Assert.That(UdpHeader.SourcePort(ip.AsSpan(20)), Is.EqualTo(6000));
            Assert.That(Encoding.ASCII.GetString(ip.AsSpan(28)), Is.EqualTo("marked"));
            Assert.That(TestPackets.UdpChecksumValid(ip), Is.True);
            // The unmarked packet never left the kernel (BPF); the wrong port was seen and refused by policy.
            Assert.That(forwarder.Counters.Received, Is.EqualTo(2));
            Assert.That(forwarder.Counters.DroppedNotMarked, Is.Zero);
            Assert.That(forwarder.Counters.DroppedUnknownPort, Is.EqualTo(1));
        }
    }
}
