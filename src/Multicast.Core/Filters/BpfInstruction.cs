using System.Runtime.InteropServices;

namespace Multicast.Core.Filters;

/// <summary>One classic-BPF instruction, laid out as the kernel's struct sock_filter.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct BpfInstruction(ushort Code, byte JumpTrue, byte JumpFalse, uint K)
{
    public const ushort LoadWordAbsolute = 0x20;     // BPF_LD | BPF_W | BPF_ABS
    public const ushort LoadHalfAbsolute = 0x28;     // BPF_LD | BPF_H | BPF_ABS
    public const ushort LoadByteAbsolute = 0x30;     // BPF_LD | BPF_B | BPF_ABS
    public const ushort JumpIfEqual = 0x15;          // BPF_JMP | BPF_JEQ | BPF_K
    public const ushort Return = 0x06;               // BPF_RET | BPF_K
    public const ushort AndConstant = 0x54;          // BPF_ALU | BPF_AND | BPF_K

    public override string ToString() => $"{{ 0x{Code:x2}, {JumpTrue}, {JumpFalse}, 0x{K:x8} }}";
}
