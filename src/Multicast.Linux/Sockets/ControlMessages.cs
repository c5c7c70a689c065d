namespace Multicast.Linux.Sockets;

/// <summary>One control message (cmsg) of a received msghdr: its level, type and data.</summary>
internal readonly unsafe ref struct ControlMessage(int level, int type, byte* data, int length)
{
    public int Level { get; } = level;
    public int Type { get; } = type;
    public int Length { get; } = length;
    public byte* Data { get; } = data;
}

/// <summary>
/// Walks the control area the kernel filled in (msg_control / msg_controllen after recvmsg), 64-bit layout:
/// cmsghdr {size_t len; int level; int type;} then data, each message padded to 8 bytes. A length that does not fit
/// ends the walk instead of reading past the area.
/// </summary>
internal unsafe ref struct ControlMessages(void* control, nuint length)
{
    private const int HeaderSize = 16;
    private byte* _next = (byte*)control;
    private long _left = (long)length;

    public ControlMessage Current { get; private set; }

    public readonly ControlMessages GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_left < HeaderSize) return false;
        long cmsgLength = *(long*)_next;
        if (cmsgLength < HeaderSize || cmsgLength > _left) return false;
        Current = new ControlMessage(*(int*)(_next + 8), *(int*)(_next + 12), _next + HeaderSize, (int)(cmsgLength - HeaderSize));
        long step = (cmsgLength + 7) & ~7L;
        _next += step;
        _left -= step;
        return true;
    }
}
