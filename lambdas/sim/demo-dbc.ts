/**
 * The DBC the simulator uses for FlexConnect binary (CAN) traffic when no `--dbc` is given: a small
 * vehicle/battery network with Intel and Motorola signals, signed and scaled values, a value table and a
 * multiplexed message, so a first run exercises the interesting parts of the DBC engine.
 */

/** File name the demo DBC is uploaded under. */
export const DEMO_DBC_NAME = 'fleetwire-sim-demo.dbc';

/** The demo DBC text. */
export const DEMO_DBC = `VERSION "fleetwire-sim 1"

NS_ :
	CM_
	BA_DEF_
	BA_
	VAL_
	BA_DEF_DEF_

BS_:

BU_: VCU BMS Gateway

BO_ 256 VehicleDynamics: 8 VCU
 SG_ Speed : 0|16@1+ (0.01,0) [0|250] "km/h" Gateway
 SG_ EngineRpm : 16|16@1+ (0.25,0) [0|8000] "rpm" Gateway
 SG_ Throttle : 32|8@1+ (0.4,0) [0|100] "%" Gateway
 SG_ Gear : 40|3@1+ (1,0) [0|4] "" Gateway
 SG_ BrakeActive : 43|1@1+ (1,0) [0|1] "" Gateway
 SG_ SteeringAngle : 55|16@0- (0.1,0) [-780|780] "deg" Gateway

BO_ 512 BatteryStatus: 8 BMS
 SG_ PackVoltage : 0|16@1+ (0.01,0) [0|600] "V" Gateway
 SG_ PackCurrent : 16|16@1- (0.1,0) [-1000|1000] "A" Gateway
 SG_ StateOfCharge : 32|8@1+ (0.5,0) [0|100] "%" Gateway
 SG_ CellTempMax : 40|8@1+ (1,-40) [-40|125] "degC" Gateway
 SG_ CellTempMin : 48|8@1+ (1,-40) [-40|125] "degC" Gateway

BO_ 2566844926 Diagnostics: 8 Gateway
 SG_ Page M : 0|8@1+ (1,0) [0|1] "" VCU
 SG_ OdometerKm m0 : 8|32@1+ (0.1,0) [0|1000000] "km" VCU
 SG_ EngineHours m0 : 40|16@1+ (0.1,0) [0|6000] "h" VCU
 SG_ ErrorCount m1 : 8|8@1+ (1,0) [0|255] "" VCU
 SG_ LastErrorCode m1 : 16|16@1+ (1,0) [0|65535] "" VCU

CM_ BO_ 256 "Vehicle speed, engine and driver inputs";
CM_ BO_ 512 "Traction battery summary from the BMS";
CM_ BO_ 2566844926 "Multiplexed diagnostics (extended id)";
VAL_ 256 Gear 0 "P" 1 "R" 2 "N" 3 "D" 4 "S" ;
`;
