using System.Net;
using System.Net.Sockets;
using Multicast.Core.DataPlane;
using Multicast.Core.Packets;

namespace Multicast.Pcap.Tx;

/// <summary>
/// Portable slow path: a raw IPv4 socket with the header included, so the OS routes each copy, resolves its neighbour
/// (this send is what starts ARP) and fragments it if needed. Used on Windows; Linux engines use the sendmmsg-batched
/// RawSocketTxSlots instead. Packets are queued in pre-allocated slots and sent one by one on Flush.
/// </summary>
public sealed class SocketRawTxSlots : ITxSlots, IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer;
    private readonly uint[] _destinations;
    private readonly int[] _lengths;
    private readonly int _slotSize;
    private readonly SocketAddress _address = new IPEndPoint(IPAddress.Any, 0).Serialize();
    private int _count;
    private int _acquired = -1;

    public long SendErrors;
    public SocketError LastError;

    public SocketRawTxSlots(int capacity = 64, int slotSize = 65535)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Raw);
        try
        {
            _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.HeaderIncluded, true);
            _socket.SendBufferSize = 4 << 20;
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        _slotSize = slotSize;
        _buffer = GC.AllocateArray<byte>(capacity * slotSize, pinned: true);
        _destinations = new uint[capacity];
        _lengths = new int[capacity];
    }

    public Span<byte> Acquire(uint destination, int length)
    {
        if (length > _slotSize) return default;
        if (_count == _lengths.Length) Flush();
        _destinations[_count] = destination;
        _lengths[_count] = length;
        _acquired = length;
        return _buffer.AsSpan(_count * _slotSize, length);
    }

    public void Commit()
    {
        if (_acquired < 0) throw new InvalidOperationException("Commit without Acquire");
        // Linux refills ID 0 per packet, which breaks a fragmented datagram; whether Windows does is not checked here,
        // so the ID is kept on every OS.
        Ipv4Header.KeepFragmentIdThroughRawSocket(_buffer.AsSpan(_count * _slotSize, _acquired));
        _acquired = -1;
        _count++;
    }

    public void Flush()
    {
        for (int i = 0; i < _count; i++)
        {
            uint d = _destinations[i];
            // sockaddr_in: family (2), port (2), address in network order from byte 4.
            _address[4] = (byte)(d >> 24);
            _address[5] = (byte)(d >> 16);
            _address[6] = (byte)(d >> 8);
            _address[7] = (byte)d;
            try { _socket.SendTo(_buffer.AsSpan(i * _slotSize, _lengths[i]), SocketFlags.None, _address); }
            catch (SocketException e) { SendErrors++; LastError = e.SocketErrorCode; }
        }
        _count = 0;
    }

    public void Dispose() => _socket.Dispose();
}
