using System.Net.Sockets;
using Multicast.Linux.Sockets;
using NUnit.Framework;

namespace Multicast.Tests.Ring;

/// <summary>
/// The raw-socket transmitter is the socket engine's sender, every engine's slow path and the client's delivery: a
/// packet the kernel refuses must be counted (send_errors, delivery_errors) and must not take the rest of its batch with it.
/// </summary>
public sealed class RawSocketTxSlotsTests : RingTestBase
{
    private const int Einval = 22;

    [Test]
    public void ARefusedPacket_IsCounted_AndTheRestOfTheBatchIsSent()
    {
        const ushort port = 5611;
        using Socket receiver = Net.InB(() => UdpReceiver(port));
        using RawSocketTxSlots slots = Net.InA(() => new RawSocketTxSlots(capacity: 8, slotSize: 2048));

        Queue(slots, TestPackets.Udp(NetnsPair.AddrA, NetnsPair.AddrB, 4000, port, [1]));
        byte[] refused = TestPackets.Udp(NetnsPair.AddrA, NetnsPair.AddrB, 4000, port, [2]);
        refused[0] = 0x4F; // a 60-byte header claimed by a 29-byte packet: the kernel answers EINVAL and sends nothing
        Queue(slots, refused);
        Queue(slots, TestPackets.Udp(NetnsPair.AddrA, NetnsPair.AddrB, 4000, port, [3]));
        slots.Flush();

        Assert.That(slots.SendErrors, Is.EqualTo(1));
        Assert.That(slots.LastSendError, Is.EqualTo(Einval));
        List<(byte[] Data, System.Net.IPEndPoint From)> got = ReceiveUpTo(receiver, 2);
        Assert.That(got.Select(d => d.Data.Single()), Is.EqualTo(new byte[] { 1, 3 }), "the packets either side of the refused one");
    }

    [Test]
    public void AFragmentedDatagramWithIpIdZero_IsReassembledByTheReceiver()
    {
        // Without a shared ID the kernel numbers each fragment afresh and the receiver waits for its reassembly timeout:
        // the one datagram in 65,536 that CI lost in LargeDatagrams_AreFragmentedAndArriveIntact.
        const ushort port = 5612;
        byte[] payload = Enumerable.Range(0, 4000).Select(i => (byte)(i * 7)).ToArray();
        byte[] datagram = Unit.TestPackets.Build(new Unit.PacketSpec
        {
            Source = NetnsPair.AddrA, Destination = NetnsPair.AddrB, DestinationPort = port, Id = 0, FlagsFragment = 0, Ttl = 64,
            Payload = payload,
        });
        using Socket receiver = Net.InB(() => UdpReceiver(port));
        using RawSocketTxSlots slots = Net.InA(() => new RawSocketTxSlots(capacity: 8, slotSize: 2048));
        foreach (byte[] fragment in Unit.TestPackets.Fragment(datagram, 1480)) Queue(slots, fragment);
        slots.Flush();

        Assert.That(slots.SendErrors, Is.Zero, $"errno {slots.LastSendError}");
        List<(byte[] Data, System.Net.IPEndPoint From)> got = ReceiveUpTo(receiver, 1);
        Assert.That(got, Has.Count.EqualTo(1), "the datagram was reassembled");
        Assert.That(got[0].Data, Is.EqualTo(payload));
    }

    private static void Queue(RawSocketTxSlots slots, byte[] packet)
    {
        packet.CopyTo(slots.Acquire(NetnsPair.AddrB, packet.Length));
        slots.Commit();
    }
}
