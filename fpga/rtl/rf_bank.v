// A register-file bank: one write port, four synchronous read ports, built
// as four copies of a simple dual-port RAM (the shape block RAM and LUT RAM
// map to). A read returns the value before a write to the same address on
// the same edge.

module rf_bank #(
    parameter integer AW = 9,
    parameter integer DW = 255
) (
    input  wire          clk,
    input  wire          we,
    input  wire [AW-1:0] waddr,
    input  wire [DW-1:0] wdata,
    input  wire [AW-1:0] raddr0,
    input  wire [AW-1:0] raddr1,
    input  wire [AW-1:0] raddr2,
    input  wire [AW-1:0] raddr3,
    output reg  [DW-1:0] rdata0,
    output reg  [DW-1:0] rdata1,
    output reg  [DW-1:0] rdata2,
    output reg  [DW-1:0] rdata3
);

    reg [DW-1:0] mem0 [0:(1<<AW)-1];
    reg [DW-1:0] mem1 [0:(1<<AW)-1];
    reg [DW-1:0] mem2 [0:(1<<AW)-1];
    reg [DW-1:0] mem3 [0:(1<<AW)-1];

    always @(posedge clk) begin
        if (we) begin
            mem0[waddr] <= wdata;
            mem1[waddr] <= wdata;
            mem2[waddr] <= wdata;
            mem3[waddr] <= wdata;
        end
        rdata0 <= mem0[raddr0];
        rdata1 <= mem1[raddr1];
        rdata2 <= mem2[raddr2];
        rdata3 <= mem3[raddr3];
    end

endmodule
