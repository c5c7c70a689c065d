using System.Buffers.Binary;
using Multicast.Linux.Sockets;
using NUnit.Framework;

namespace Multicast.Tests.Unit;

/// <summary>The cmsg walk both receive paths use (PACKET_AUXDATA, SO_TIMESTAMPNS, IP_PKTINFO).</summary>
public unsafe class ControlMessagesTests
{
    private static int Put(Span<byte> area, int at, int level, int type, ReadOnlySpan<byte> data, long? claimedLength = null)
    {
        BinaryPrimitives.WriteInt64LittleEndian(area[at..], claimedLength ?? 16 + data.Length);
        BinaryPrimitives.WriteInt32LittleEndian(area[(at + 8)..], level);
        BinaryPrimitives.WriteInt32LittleEndian(area[(at + 12)..], type);
        data.CopyTo(area[(at + 16)..]);
        return at + ((16 + data.Length + 7) & ~7);
    }

    private static List<(int Level, int Type, byte[] Data)> Walk(byte[] area, int length)
    {
        var seen = new List<(int, int, byte[])>();
        fixed (byte* p = area)
            foreach (ControlMessage m in new ControlMessages(p, (nuint)length))
                seen.Add((m.Level, m.Type, new ReadOnlySpan<byte>(m.Data, m.Length).ToArray()));
        return seen;
    }

    [Test]
    public void WalksEveryMessageOverItsPadding()
    {
        byte[] area = new byte[128];
        int end = Put(area, 0, 1, 35, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
        end = Put(area, end, 0, 8, [9, 9, 9, 9, 10, 0, 0, 1, 224, 1, 2, 3]); // 12 bytes: padded to 8
        end = Put(area, end, 263, 8, [7]);

        var seen = Walk(area, end);

        Assert.That(seen.Select(m => (m.Level, m.Type)), Is.EqualTo(new[] { (1, 35), (0, 8), (263, 8) }));
        Assert.That(seen[1].Data, Is.EqualTo(new byte[] { 9, 9, 9, 9, 10, 0, 0, 1, 224, 1, 2, 3 }));
        Assert.That(seen[2].Data, Is.EqualTo(new byte[] { 7 }));
    }

    [Test]
    public void StopsAtALengthThatDoesNotFit()
    {
        byte[] area = new byte[64];
        int end = Put(area, 0, 1, 35, [1, 2, 3, 4, 5, 6, 7, 8]);
        Put(area, end, 0, 8, [1, 2, 3, 4], claimedLength: 1000); // claims more than the area holds
        Assert.That(Walk(area, 48), Has.Count.EqualTo(1));

        Put(area, 0, 1, 35, [], claimedLength: 8); // shorter than its own header
        Assert.That(Walk(area, 48), Is.Empty);
        Assert.That(Walk(area, 0), Is.Empty, "an empty control area");
    }
}
