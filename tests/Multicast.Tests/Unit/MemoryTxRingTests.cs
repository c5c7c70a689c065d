using NUnit.Framework;
using Multicast.Core.DataPlane;

namespace Multicast.Tests.Unit;

public class MemoryTxRingTests
{
    [Test]
    public void CommittedSlotsKeepTheirBytesDestinationAndLength()
    {
        var ring = new MemoryTxRing(4, 64);
        ring.Acquire(7, 3).Fill(0x11);
        ring.Commit();
        ring.Acquire(9, 5).Fill(0x22);
        ring.Commit();

        Assert.That(ring.Count, Is.EqualTo(2));
        Assert.That(ring.Destination(0), Is.EqualTo(7u));
        Assert.That(ring.Packet(0).ToArray(), Is.EqualTo(new byte[] { 0x11, 0x11, 0x11 }));
        Assert.That(ring.Destination(1), Is.EqualTo(9u));
        Assert.That(ring.Packet(1).ToArray(), Is.EqualTo(new byte[] { 0x22, 0x22, 0x22, 0x22, 0x22 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.Packet(2));
    }

    [Test]
    public void FullRingRefusesUntilFlushed()
    {
        var ring = new MemoryTxRing(2, 16);
        for (int i = 0; i < 2; i++) { Assert.That(ring.Acquire(1, 16).Length, Is.EqualTo(16)); ring.Commit(); }

        Assert.That(ring.Acquire(1, 1).IsEmpty, Is.True);
        Assert.That(ring.Refused, Is.EqualTo(1));

        ring.Flush();
        Assert.That(ring.Transmitted, Is.EqualTo(2));
        Assert.That(ring.Count, Is.EqualTo(0));
        Assert.That(ring.Acquire(1, 1).IsEmpty, Is.False);
    }

    [Test]
    public void OversizedPacketIsRefused()
    {
        var ring = new MemoryTxRing(2, 16);
        Assert.That(ring.Acquire(1, 17).IsEmpty, Is.True);
        Assert.Throws<InvalidOperationException>(ring.Commit);
    }

    [Test]
    public void AcquireWithoutCommitIsNotTransmitted()
    {
        var ring = new MemoryTxRing(2, 16);
        ring.Acquire(1, 4);
        ring.Acquire(2, 4).Fill(0x33);
        ring.Commit();
        ring.Acquire(3, 4);
        ring.Flush();
        Assert.That(ring.Transmitted, Is.EqualTo(1));
    }

    [Test]
    public void AcquireCommitFlushDoNotAllocate()
    {
        var ring = new MemoryTxRing(8, 1500);
        for (int i = 0; i < 100; i++) Cycle(ring); // JIT and tiering out of the way
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++) Cycle(ring);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);

        static void Cycle(MemoryTxRing ring)
        {
            for (int s = 0; s < 9; s++)
            {
                Span<byte> slot = ring.Acquire((uint)s, 100);
                if (slot.IsEmpty) continue;
                slot[0] = 1;
                ring.Commit();
            }
            ring.Flush();
        }
    }
}
