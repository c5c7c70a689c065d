using NUnit.Framework;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Multicast.Core.Config;
using Multicast.Core.DataPlane;
using Multicast.Core.Packets;
using Multicast.Core.Tables;
using Multicast.Linux.Net;
using Multicast.Linux.Ring;
using Multicast.Linux.Sockets;

namespace Multicast.Tests.Ring;

[TestFixture, NonParallelizable]
public sealed class RingAllocationTests : RingTestBase
{
    [Test]
    public void ForwardingIntoTheTxRing_AllocatesNothingPerPacket()
    {
        uint group = IpAddressV4.Parse("239.1.2.3");
        uint unresolvable = IpAddressV4.Parse("10.201.0.99"); // on-link, nobody answers: slow path every time
        var forwarder = new ServerForwarder();
        forwarder.Publish(new FanoutTable(new ServerConfig(
            [new GroupConfig(group, 42000, 42001, [NetnsPair.AddrB, NetnsPair.RoutedDestination, unresolvable])]), null));
        (InterfaceInfo a, TxRing ring, NextHopCache resolver, RawSocketTxSlots slow) = Net.InA(() =>
        {
            InterfaceInfo info = InterfaceInfo.Get(NetnsPair.IfA);
            return (info, TxRing.Open(info.Index, info.Mtu, frameCount: 512),
                    new NextHopCache(new NetlinkNextHopSource(info.Index, NullLogger.Instance), info.Index, NullLogger.Instance, startThread: false),
                    new RawSocketTxSlots(capacity: 64, slotSize: 2048));
        });
        using (ring)
        using (resolver)
        using (slow)
        {
            var slots = new TxRingSlots(ring, resolver, a.Mac, slow);
            byte[] packet = TestPackets.Udp(NetnsPair.AddrA, group, 7000, 42000, Encoding.ASCII.GetBytes(new string('x', 200)), ttl: 1);

            // Resolve B (the on-link member and the gateway of the routed one) the way the engine would.
            for (int i = 0; i < 50 && !resolver.TryGetMac(NetnsPair.AddrB, out _); i++)
            {
                forwarder.Forward(packet, false, slots);
                slots.Flush();
                resolver.Watch([NetnsPair.AddrB, NetnsPair.RoutedDestination, unresolvable]);
                resolver.RefreshNow();
                Thread.Sleep(50);
            }
            Assert.That(resolver.TryGetMac(NetnsPair.RoutedDestination, out _), Is.True);

            for (int i = 0; i < 200; i++) { forwarder.Forward(packet, false, slots); slots.Flush(); } // warm up (tiering)
            long ringBefore = slots.FramedCopies, slowBefore = slots.SlowPathCopies, fullBefore = forwarder.Counters.CopiesDroppedTxFull;
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 2000; i++)
            {
                forwarder.Forward(packet, false, slots);
                if ((i & 15) == 15) slots.Flush();
            }
            slots.Flush();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            long ringCopies = slots.FramedCopies - ringBefore, full = forwarder.Counters.CopiesDroppedTxFull - fullBefore;
            Assert.That(full, Is.Zero, "a full ring is sent and waited for, not dropped");
            Assert.That(ringCopies, Is.EqualTo(4000), "both resolved members go to the ring");
            Assert.That(slots.SlowPathCopies - slowBefore, Is.EqualTo(2000), "the unresolvable member takes the slow path every time");
            Assert.That(allocated, Is.Zero, "bytes allocated on the forwarding path");
        }
    }
}
