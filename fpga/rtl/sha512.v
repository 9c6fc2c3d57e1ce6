// SHA-512 compression core (FIPS 180-4), one round per clock.
//
// Streaming block interface: the producer presents one 1024-bit message block
// on `block` with `in_valid`; the core takes it on a clock edge where
// `in_valid && in_ready`. `first` (sampled with the block) restarts the chain
// from the SHA-512 IV; otherwise the block continues the running hash. The
// core then runs 80 rounds, one per clock, adds the working variables into the
// hash state on the clock after the last round (kept apart from the round's
// own additions to shorten the critical path), and raises `digest_valid`,
// which stays high (with `digest` stable) until the next block is accepted.
//
// Timing: accept edge + 80 round edges + 1 = 82 clocks per block when blocks are
// offered back to back. `in_ready` is high whenever no block is in flight.
//
// Word order: block[1023:960] is message word W0 (the first 8 message bytes,
// big-endian), block[63:0] is W15. digest[511:448] is H0 (the first 8 digest
// bytes, big-endian), digest[63:0] is H7.
//
// Message padding is NOT done here: the producer must feed already padded
// blocks (the Rust harness pads on the host for now).
//
// Reset is synchronous and active high.

module sha512 (
    input  wire          clk,
    input  wire          rst,
    input  wire          in_valid,
    output wire          in_ready,
    input  wire          first,
    input  wire [1023:0] block,
    output reg           digest_valid,
    output wire [511:0]  digest
);

    localparam [63:0] IV0 = 64'h6a09e667f3bcc908;
    localparam [63:0] IV1 = 64'hbb67ae8584caa73b;
    localparam [63:0] IV2 = 64'h3c6ef372fe94f82b;
    localparam [63:0] IV3 = 64'ha54ff53a5f1d36f1;
    localparam [63:0] IV4 = 64'h510e527fade682d1;
    localparam [63:0] IV5 = 64'h9b05688c2b3e6c1f;
    localparam [63:0] IV6 = 64'h1f83d9abfb41bd6b;
    localparam [63:0] IV7 = 64'h5be0cd19137e2179;
    // Hash state H0..H7 and working variables a..h.
    reg [63:0] h0, h1, h2, h3, h4, h5, h6, h7;
    reg [63:0] a, b, c, d, e, f, g, hh;

    // Message schedule window: w[0] is W_t for the current round t,
    // w[15] is W_{t+15}.
    reg [63:0] w [0:15];

    reg        busy;
    reg        finish;   // the 80 rounds are done; add into the state
    reg  [6:0] round;

    assign in_ready = !busy;
    assign digest   = {h0, h1, h2, h3, h4, h5, h6, h7};

    // Round constants K_t.
    reg [63:0] round_k;
    always @(*) begin
        case (round)
            7'd0: round_k = 64'h428a2f98d728ae22;
            7'd1: round_k = 64'h7137449123ef65cd;
            7'd2: round_k = 64'hb5c0fbcfec4d3b2f;
            7'd3: round_k = 64'he9b5dba58189dbbc;
            7'd4: round_k = 64'h3956c25bf348b538;
            7'd5: round_k = 64'h59f111f1b605d019;
            7'd6: round_k = 64'h923f82a4af194f9b;
            7'd7: round_k = 64'hab1c5ed5da6d8118;
            7'd8: round_k = 64'hd807aa98a3030242;
            7'd9: round_k = 64'h12835b0145706fbe;
            7'd10: round_k = 64'h243185be4ee4b28c;
            7'd11: round_k = 64'h550c7dc3d5ffb4e2;
            7'd12: round_k = 64'h72be5d74f27b896f;
            7'd13: round_k = 64'h80deb1fe3b1696b1;
            7'd14: round_k = 64'h9bdc06a725c71235;
            7'd15: round_k = 64'hc19bf174cf692694;
            7'd16: round_k = 64'he49b69c19ef14ad2;
            7'd17: round_k = 64'hefbe4786384f25e3;
            7'd18: round_k = 64'h0fc19dc68b8cd5b5;
            7'd19: round_k = 64'h240ca1cc77ac9c65;
            7'd20: round_k = 64'h2de92c6f592b0275;
            7'd21: round_k = 64'h4a7484aa6ea6e483;
            7'd22: round_k = 64'h5cb0a9dcbd41fbd4;
            7'd23: round_k = 64'h76f988da831153b5;
            7'd24: round_k = 64'h983e5152ee66dfab;
            7'd25: round_k = 64'ha831c66d2db43210;
            7'd26: round_k = 64'hb00327c898fb213f;
            7'd27: round_k = 64'hbf597fc7beef0ee4;
            7'd28: round_k = 64'hc6e00bf33da88fc2;
            7'd29: round_k = 64'hd5a79147930aa725;
            7'd30: round_k = 64'h06ca6351e003826f;
            7'd31: round_k = 64'h142929670a0e6e70;
            7'd32: round_k = 64'h27b70a8546d22ffc;
            7'd33: round_k = 64'h2e1b21385c26c926;
            7'd34: round_k = 64'h4d2c6dfc5ac42aed;
            7'd35: round_k = 64'h53380d139d95b3df;
            7'd36: round_k = 64'h650a73548baf63de;
            7'd37: round_k = 64'h766a0abb3c77b2a8;
            7'd38: round_k = 64'h81c2c92e47edaee6;
            7'd39: round_k = 64'h92722c851482353b;
            7'd40: round_k = 64'ha2bfe8a14cf10364;
            7'd41: round_k = 64'ha81a664bbc423001;
            7'd42: round_k = 64'hc24b8b70d0f89791;
            7'd43: round_k = 64'hc76c51a30654be30;
            7'd44: round_k = 64'hd192e819d6ef5218;
            7'd45: round_k = 64'hd69906245565a910;
            7'd46: round_k = 64'hf40e35855771202a;
            7'd47: round_k = 64'h106aa07032bbd1b8;
            7'd48: round_k = 64'h19a4c116b8d2d0c8;
            7'd49: round_k = 64'h1e376c085141ab53;
            7'd50: round_k = 64'h2748774cdf8eeb99;
            7'd51: round_k = 64'h34b0bcb5e19b48a8;
            7'd52: round_k = 64'h391c0cb3c5c95a63;
            7'd53: round_k = 64'h4ed8aa4ae3418acb;
            7'd54: round_k = 64'h5b9cca4f7763e373;
            7'd55: round_k = 64'h682e6ff3d6b2b8a3;
            7'd56: round_k = 64'h748f82ee5defb2fc;
            7'd57: round_k = 64'h78a5636f43172f60;
            7'd58: round_k = 64'h84c87814a1f0ab72;
            7'd59: round_k = 64'h8cc702081a6439ec;
            7'd60: round_k = 64'h90befffa23631e28;
            7'd61: round_k = 64'ha4506cebde82bde9;
            7'd62: round_k = 64'hbef9a3f7b2c67915;
            7'd63: round_k = 64'hc67178f2e372532b;
            7'd64: round_k = 64'hca273eceea26619c;
            7'd65: round_k = 64'hd186b8c721c0c207;
            7'd66: round_k = 64'heada7dd6cde0eb1e;
            7'd67: round_k = 64'hf57d4f7fee6ed178;
            7'd68: round_k = 64'h06f067aa72176fba;
            7'd69: round_k = 64'h0a637dc5a2c898a6;
            7'd70: round_k = 64'h113f9804bef90dae;
            7'd71: round_k = 64'h1b710b35131c471b;
            7'd72: round_k = 64'h28db77f523047d84;
            7'd73: round_k = 64'h32caab7b40c72493;
            7'd74: round_k = 64'h3c9ebe0a15c9bebc;
            7'd75: round_k = 64'h431d67c49c100d4c;
            7'd76: round_k = 64'h4cc5d4becb3e42b6;
            7'd77: round_k = 64'h597f299cfc657e2a;
            7'd78: round_k = 64'h5fcb6fab3ad6faec;
            7'd79: round_k = 64'h6c44198c4a475817;
            default: round_k = 64'h0;
        endcase
    end

    function automatic [63:0] rotr(input [63:0] x, input integer n);
        rotr = (x >> n) | (x << (64 - n));
    endfunction

    // Round function.
    wire [63:0] big_s0 = rotr(a, 28) ^ rotr(a, 34) ^ rotr(a, 39);
    wire [63:0] big_s1 = rotr(e, 14) ^ rotr(e, 18) ^ rotr(e, 41);
    wire [63:0] ch     = (e & f) ^ (~e & g);
    wire [63:0] maj    = (a & b) ^ (a & c) ^ (b & c);
    wire [63:0] t1     = hh + big_s1 + ch + round_k + w[0];
    wire [63:0] t2     = big_s0 + maj;
    wire [63:0] next_a = t1 + t2;
    wire [63:0] next_e = d + t1;

    // Schedule: W_{t+16} = s1(W_{t+14}) + W_{t+9} + s0(W_{t+1}) + W_t.
    wire [63:0] small_s0 = rotr(w[1], 1) ^ rotr(w[1], 8) ^ (w[1] >> 7);
    wire [63:0] small_s1 = rotr(w[14], 19) ^ rotr(w[14], 61) ^ (w[14] >> 6);
    wire [63:0] next_w   = small_s1 + w[9] + small_s0 + w[0];

    integer i;

    always @(posedge clk) begin
        if (rst) begin
            busy         <= 1'b0;
            finish       <= 1'b0;
            round        <= 7'd0;
            digest_valid <= 1'b0;
            h0 <= IV0; h1 <= IV1; h2 <= IV2; h3 <= IV3;
            h4 <= IV4; h5 <= IV5; h6 <= IV6; h7 <= IV7;
        end else if (!busy) begin
            if (in_valid) begin
                busy         <= 1'b1;
                round        <= 7'd0;
                digest_valid <= 1'b0;
                for (i = 0; i < 16; i = i + 1)
                    w[i] <= block[1023 - 64 * i -: 64];
                if (first) begin
                    h0 <= IV0; h1 <= IV1; h2 <= IV2; h3 <= IV3;
                    h4 <= IV4; h5 <= IV5; h6 <= IV6; h7 <= IV7;
                    a <= IV0; b <= IV1; c <= IV2; d <= IV3;
                    e <= IV4; f <= IV5; g <= IV6; hh <= IV7;
                end else begin
                    a <= h0; b <= h1; c <= h2; d <= h3;
                    e <= h4; f <= h5; g <= h6; hh <= h7;
                end
            end
        end else if (finish) begin
            h0 <= h0 + a;
            h1 <= h1 + b;
            h2 <= h2 + c;
            h3 <= h3 + d;
            h4 <= h4 + e;
            h5 <= h5 + f;
            h6 <= h6 + g;
            h7 <= h7 + hh;
            finish       <= 1'b0;
            busy         <= 1'b0;
            digest_valid <= 1'b1;
        end else begin
            a  <= next_a;
            b  <= a;
            c  <= b;
            d  <= c;
            e  <= next_e;
            f  <= e;
            g  <= f;
            hh <= g;
            for (i = 0; i < 15; i = i + 1)
                w[i] <= w[i + 1];
            w[15] <= next_w;
            round <= round + 7'd1;
            if (round == 7'd79) finish <= 1'b1;
        end
    end

endmodule
